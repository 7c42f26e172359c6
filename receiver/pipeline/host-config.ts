// The host stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `host.name` (and `host.id`) on every record, from the node itself; no settings.
import { Type } from '@sinclair/typebox';

export const HostStageSchema = Type.Object({});
