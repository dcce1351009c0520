/*
 * SO_ORIGINAL_DST for Node.js: the destination a connection had before an iptables
 * REDIRECT rewrote it, read back from the connection tracking entry of the socket.
 * https://www.netfilter.org/documentation/HOWTO/NAT-HOWTO-6.html
 *
 * Node-API only (https://nodejs.org/api/n-api.html), so one build serves every Node.js
 * version that has Node-API 8 (Node 12.22 and later).
 *
 *   originalDst(fd) -> { address, port, family } | null   (null: no NAT entry)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <node_api.h>

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h; both are 80. Defined here
 * because those kernel headers clash with glibc's netinet/in.h. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  char code[32];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  snprintf(code, sizeof code, "E%d", err);
  switch (err) {
    case EBADF: snprintf(code, sizeof code, "EBADF"); break;
    case ENOTSOCK: snprintf(code, sizeof code, "ENOTSOCK"); break;
    case ENOPROTOOPT: snprintf(code, sizeof code, "ENOPROTOOPT"); break;
    case EINVAL: snprintf(code, sizeof code, "EINVAL"); break;
    default: break;
  }
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value make_result(napi_env env, const char *address, int port, int family) {
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, result, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, result, "port", v);
  napi_create_int32(env, family, &v);
  napi_set_named_property(env, result, "family", v);
  return result;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_value null_value;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "originalDst(fd): fd must be a file descriptor");
    return NULL;
  }
  napi_get_null(env, &null_value);

  /* The socket's own family decides the option's level: an IPv6 socket that accepted an
   * IPv4 connection (a v4-mapped local address) has an IPv4 conntrack entry. */
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
    return throw_errno(env, "getsockname", errno);
  }
  int ipv6 = local.ss_family == AF_INET6 &&
             !IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr);
  char text[INET6_ADDRSTRLEN];
  if (ipv6) {
    struct sockaddr_in6 dst;
    socklen_t len = sizeof dst;
    memset(&dst, 0, sizeof dst);
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &len) != 0) {
      if (errno == ENOENT) return null_value;
      return throw_errno(env, "getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST)", errno);
    }
    inet_ntop(AF_INET6, &dst.sin6_addr, text, sizeof text);
    return make_result(env, text, ntohs(dst.sin6_port), 6);
  }
  struct sockaddr_in dst;
  socklen_t len = sizeof dst;
  memset(&dst, 0, sizeof dst);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
    if (errno == ENOENT) return null_value;
    return throw_errno(env, "getsockopt(SOL_IP, SO_ORIGINAL_DST)", errno);
  }
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  return make_result(env, text, ntohs(dst.sin_port), 4);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}
