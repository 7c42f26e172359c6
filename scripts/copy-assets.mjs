// tsc compiles receiver/ into dist/ but does not copy data files; the built-in rule library is loaded at run
// time relative to its module, so it must sit next to dist/rules/ too.
import { cpSync } from 'node:fs';

cpSync(new URL('../receiver/rules/builtin/', import.meta.url), new URL('../dist/rules/builtin/', import.meta.url), {
  recursive: true,
});
// The vendored CRI protos the k8s stage's CRI client loads at run time (receiver/pipeline/k8s/cri.ts).
cpSync(
  new URL('../receiver/pipeline/k8s/proto/', import.meta.url),
  new URL('../dist/pipeline/k8s/proto/', import.meta.url),
  { recursive: true },
);
// The build-time compiled configuration validator (receiver/config/gen-validator.ts) is plain JavaScript.
for (const f of ['validate-config.js', 'validate-config.d.ts'])
  cpSync(
    new URL(`../receiver/config/generated/${f}`, import.meta.url),
    new URL(`../dist/config/generated/${f}`, import.meta.url),
  );
