// Types of validate-config.js, which receiver/config/gen-validator.ts generates (plain JavaScript: tsc does not
// compile it, scripts/copy-assets.mjs copies it into dist/).
import type { ValidateFunction } from 'ajv';

export declare const validateConfig: ValidateFunction;
export declare const validatePresetFile: ValidateFunction;
/** The configuration schema (config/schema.ts) as JSON text. */
export declare const CONFIG_SCHEMA_JSON: string;
export declare const PRESET_NAMES: readonly string[];
