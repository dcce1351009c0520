/**
 * An HTTP filter's typed config as the fault and rate-limit compilers receive it: a decoded
 * google.protobuf.Any holding the filter's message, or an envoy.config.route.v3.FilterConfig
 * that wraps it (to disable the filter on a route, or mark it optional), or the message
 * itself. An Any whose type is not among the loaded protos stays `{ type_url, value }`; it is
 * refused rather than read as an empty config, which would silently turn the filter off.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-filterconfig
 */
import { anyType, type envoy, types, unpackAny } from '../../xds/index.js';
import { FilterConfigError } from './fault-error.js';

export type FilterTypedConfig<T> = envoy.Any | envoy.Typed<T> | envoy.Typed<envoy.FilterConfig>;

/**
 * The filter's message of type `typeUrl` and the path of its fields for errors (`name`, or
 * `FilterConfig.config`); undefined when a FilterConfig disables the filter. Throws
 * FilterConfigError when the config could not be decoded or is of another type.
 */
export function filterMessage<T>(
  config: FilterTypedConfig<T>,
  typeUrl: string,
  name: string,
): { readonly message: envoy.Typed<T>; readonly field: string } | undefined {
  let message: FilterTypedConfig<T> = config;
  let field = name;
  const wrapper = unpackAny<envoy.FilterConfig>(config as envoy.Any, types.FILTER_CONFIG);
  if (wrapper) {
    if (wrapper.disabled === true) return undefined;
    message = wrapper.config ?? {};
    field = 'FilterConfig.config';
  }
  if ('type_url' in message && !('@type' in message)) {
    throw new FilterConfigError(
      `${field}.@type`,
      `could not be decoded (type ${message.type_url})`,
    );
  }
  const type = anyType(message as envoy.Any);
  if (type !== undefined && type !== typeUrl) {
    throw new FilterConfigError(`${field}.@type`, `is ${type}, not ${typeUrl}`);
  }
  return { message: message as envoy.Typed<T>, field };
}
