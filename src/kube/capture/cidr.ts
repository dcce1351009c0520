/** Address and CIDR syntax, checked before anything reaches iptables. */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). */
export function isCidr(s: string): boolean {
  const [addr, len, extra] = s.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const v6 = addr.includes(':');
  if (v6 ? !isIpv6(addr) : !IPV4.test(addr)) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n <= (v6 ? 128 : 32);
}

function isIpv6(addr: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(addr)) return false;
  const halves = addr.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  const last = groups.at(-1);
  const v4Tail = last?.includes('.') === true;
  if (v4Tail && !IPV4.test(last ?? '')) return false;
  const count = groups.length + (v4Tail ? 1 : 0);
  if (!groups.every((g) => g.includes('.') || /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count < 8 : count === 8;
}

/** Which iptables a CIDR belongs to: iptables (4) or ip6tables (6). */
export function cidrFamily(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}
