// OTLP wire formats for kata-otel records: protobuf and OTLP/JSON encoders, decoders, resource grouping.
export { encodeLogsProto, type EncodeOptions } from './encode-proto.js';
export { encodeLogsJson } from './encode-json.js';
export type { ExtraAttributes, ExtraAttributesOf } from './extra.js';
export { decodeLogsProto, decodeLogsJson, type DecodeErrorHandler } from './decode.js';
export {
  groupByResource,
  isResourceKey,
  SCOPE_NAME,
  SCOPE_VERSION,
  type ResourceGroup,
  type ResourceOverlay,
} from './resource.js';
