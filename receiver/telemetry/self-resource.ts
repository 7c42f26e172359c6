// The resource of kata-otel's own telemetry (self-metrics over OTLP, self-traces): service.name=kata-otel in the
// Kata service namespace, on this host.
import { hostname } from 'node:os';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';
import { SERVICE_NAMESPACE } from '../parse/build.js';
import {
  ATTR_HOST_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SERVICE_VERSION,
} from '../semconv/generated.js';

/** kata-otel's own service name: the name of its instrumentation scope. */
export const SELF_SERVICE_NAME = SCOPE_NAME;

/** `fill` (OTEL_RESOURCE_ATTRIBUTES, an exporter's resource_attributes) under kata-otel's own identity. */
export const selfResource = (fill: Attributes = {}): Resource =>
  resourceFromAttributes({
    ...fill,
    [ATTR_SERVICE_NAMESPACE]: SERVICE_NAMESPACE,
    [ATTR_HOST_NAME]: hostname(),
    [ATTR_SERVICE_VERSION]: SCOPE_VERSION,
    [ATTR_SERVICE_NAME]: SELF_SERVICE_NAME,
  });
