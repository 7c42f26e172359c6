import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUTPUTS, loadRegistry, render } from '../../semconv/generate.js';
import * as C from '../../receiver/semconv/generated.js';

describe('semconv registry', () => {
  const groups = loadRegistry();

  it('generated constants and docs are in sync with semconv/model (run `npm run semconv:gen` if this fails)', () => {
    const out = render(groups);
    expect(readFileSync(OUTPUTS.constants, 'utf8')).toBe(out.constants);
    expect(readFileSync(OUTPUTS.docs, 'utf8')).toBe(out.docs);
  });

  it('defines the keys users query by, with exactly these names', () => {
    expect(C.ATTR_KATA_SANDBOX_ID).toBe('kata.sandbox.id');
    expect(C.ATTR_KATA_COMPONENT).toBe('kata.component');
    expect(C.ATTR_KATA_SUBSYSTEM).toBe('kata.subsystem');
    expect(C.ATTR_KATA_SOURCE).toBe('kata.source');
    expect(C.ATTR_KATA_HYPERVISOR_NAME).toBe('kata.hypervisor.name');
    expect(C.ATTR_KATA_EXEC_ID).toBe('kata.exec.id');
    expect(C.ATTR_CONTAINER_ID).toBe('container.id');
    expect(C.ATTR_LOG_RECORD_ORIGINAL).toBe('log.record.original');
    expect(C.ATTR_KATA_FIELD('console-url')).toBe('kata.field.console-url');
  });

  it('every group and attribute carries what the OTel semconv format requires', () => {
    for (const g of groups) {
      expect(g.brief, `group ${g.id} brief`).toBeTruthy();
      for (const a of g.attributes ?? []) {
        if (a.id) {
          expect(a.type, `${a.id} type`).toBeTruthy();
          expect(a.brief, `${a.id} brief`).toBeTruthy();
          expect(a.stability, `${a.id} stability`).toBeTruthy();
          if (a.type !== 'boolean')
            expect(a.examples ?? (typeof a.type === 'object' ? 'enum' : undefined), `${a.id} examples`).toBeDefined();
        } else {
          expect(a.ref, 'an attribute entry is either an id or a ref').toBeTruthy();
        }
      }
    }
  });

  it('refs point to attributes defined here or to OTel namespaces', () => {
    const defined = new Set(groups.flatMap((g) => (g.attributes ?? []).map((a) => a.id).filter(Boolean)));
    const otelNamespaces = /^(service|host|container|process|k8s|log|code|error|thread|security_rule)\./;
    for (const g of groups)
      for (const a of g.attributes ?? [])
        if (a.ref) expect(defined.has(a.ref) || otelNamespaces.test(a.ref), `ref ${a.ref} in ${g.id}`).toBe(true);
  });

  it('keeps the resource small: sandbox and component, never container ids', () => {
    expect(C.RESOURCE_ATTRIBUTE_KEYS).toContain('kata.sandbox.id');
    expect(C.RESOURCE_ATTRIBUTE_KEYS).toContain('kata.component');
    expect(C.RESOURCE_ATTRIBUTE_KEYS).not.toContain('container.id');
  });
});
