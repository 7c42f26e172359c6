// Each descriptor's schema() (loaded lazily, so `run` never loads TypeBox) is the schema config/schema.ts puts
// at the descriptor's configKey: one source of truth for every component's settings and defaults.
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../receiver/components/registry.js';
import { ConfigSchema } from '../../receiver/config/schema.js';

type Node = { properties?: Record<string, Node>; items?: Node; anyOf?: Node[] } & Record<string, unknown>;

/** The schema at `key`: `a.b` walks properties, `a[]` an array's items, `exporters[] (type: x)` the x entry. */
function at(key: string): Node | undefined {
  let node: Node | undefined = ConfigSchema as unknown as Node;
  const typed = /^(\w+)\[\] \(type: (\w+)\)$/.exec(key);
  if (typed) {
    // exporters[]: one schema per type, told apart by the `type` discriminator.
    const items = (node.properties?.[typed[1]!] as Node).items as Node & { oneOf?: Node[] };
    return items.oneOf?.find((s) => JSON.stringify(s.properties?.type ?? null).includes(`"${typed[2]}"`));
  }
  for (const part of key.split('.')) {
    const array = part.endsWith('[]');
    node = node?.properties?.[array ? part.slice(0, -2) : part];
    if (array) node = node?.items;
  }
  return node;
}

describe('component schemas', () => {
  for (const d of COMPONENTS.filter((c) => c.configKey !== '')) {
    it(`${d.kind} ${d.type}: schema() is the configuration's ${d.configKey}`, async () => {
      const own = await d.schema();
      const placed = d.configKey === 'pipeline.lifecycle.agent_spans' ? undefined : at(d.configKey);
      if (placed === undefined) {
        // The agent span listener's keys are spread into pipeline.lifecycle.
        const lifecycle = at('pipeline.lifecycle')!;
        for (const [k, v] of Object.entries((own as Node).properties ?? {}))
          expect(lifecycle.properties?.[k], k).toEqual(v);
      } else expect(placed).toEqual(own);
    });
  }
});
