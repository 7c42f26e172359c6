// The CRI runtime's own info lines that name a pod and the id it got (kata-lifecycle.md §1.6), as record bodies
// after parsing (the logfmt `msg`):
//   containerd (internal/cri/instrument/instrumented_service.go)
//     RunPodSandbox for <PodSandboxMetadata> returns sandbox id "<sid>"
//     CreateContainer within sandbox "<sid>" for <ContainerMetadata> returns container id "<cid>"
//   where <…Metadata> is gogo's `&PodSandboxMetadata{Name:nginx,Uid:…,Namespace:default,Attempt:0,}` (cri-api
//   < 0.34, containerd ≤ 2.1) or prototext `name:"nginx"  uid:"…"  namespace:"default"` (containerd ≥ 2.2; protobuf-go
//   varies the spaces on purpose, and leaves out fields at their zero value);
//   CRI-O (server/sandbox_run_linux.go, server/container_create.go), description = <namespace>/<pod>/<container>:
//     Ran pod sandbox <sid> with infra container: <ns>/<pod>/POD
//     Created container <cid>: <ns>/<pod>/<ctr>
// These run once per pod or container, so plain string functions are fine; `criMapping` rejects every other body
// with one or two character comparisons, which is all the hot path pays.
import type { PodMetadata } from './metadata.js';

export interface CriMapping {
  /** The sandbox or container id the line reports. */
  id: string;
  meta: PodMetadata;
}

const RUN_POD = 'RunPodSandbox for ';
const RUN_POD_RETURNS = ' returns sandbox id "';
const CREATE_CTR = 'CreateContainer within sandbox "';
const CREATE_CTR_RETURNS = ' returns container id "';
const CRIO_RAN = 'Ran pod sandbox ';
const CRIO_RAN_INFRA = ' with infra container: ';
const CRIO_CREATED = 'Created container ';

/** The text between `start` and the next `"`, or undefined. */
function quoted(s: string, start: number): string | undefined {
  const end = s.indexOf('"', start);
  return end > start ? s.slice(start, end) : undefined;
}

/**
 * Fields of a CRI metadata rendering, keys lower-cased: gogo `&PodSandboxMetadata{Name:x,Uid:y,…,}` or prototext
 * `name:"x" uid:"y"` (optionally in braces). Kubernetes names, namespaces and uids contain no `,`, `}`, `"`,
 * `:` or spaces, so no unescaping is needed.
 */
export function parseCriMetadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = text.trim();
  const open = t.indexOf('{');
  if (t.startsWith('&') && open > 0) {
    const close = t.lastIndexOf('}');
    for (const part of t.slice(open + 1, close > open ? close : undefined).split(',')) {
      const colon = part.indexOf(':');
      if (colon > 0) out[part.slice(0, colon).trim().toLowerCase()] = part.slice(colon + 1).trim();
    }
    return out;
  }
  for (const m of t.matchAll(/([A-Za-z_]+)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"{}]+))/g))
    out[(m[1] as string).toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

function podFields(meta: PodMetadata, f: Record<string, string>): void {
  if (f.name) meta.podName = f.name;
  if (f.namespace) meta.namespace = f.namespace;
  if (f.uid) meta.podUid = f.uid;
}

/** `<namespace>/<pod>/<container>` → its parts. */
function description(d: string): [string, string, string] | undefined {
  const p = d.trim().split('/');
  return p.length === 3 && p.every((x) => x !== '') ? (p as [string, string, string]) : undefined;
}

/** The id → pod mapping a CRI runtime line reports, or undefined for every other body. */
export function criMapping(body: string): CriMapping | undefined {
  const c = body.charCodeAt(0);
  if (c === 82 /* R */) {
    if (body.startsWith(RUN_POD)) {
      const at = body.indexOf(RUN_POD_RETURNS, RUN_POD.length);
      if (at < 0) return undefined;
      const id = quoted(body, at + RUN_POD_RETURNS.length);
      if (!id) return undefined;
      const meta: PodMetadata = { kind: 'sandbox', sandboxId: id };
      podFields(meta, parseCriMetadata(body.slice(RUN_POD.length, at)));
      return meta.podName || meta.podUid ? { id, meta } : undefined;
    }
    if (body.startsWith(CRIO_RAN)) {
      const at = body.indexOf(CRIO_RAN_INFRA, CRIO_RAN.length);
      const d = at > 0 ? description(body.slice(at + CRIO_RAN_INFRA.length)) : undefined;
      const id = at > 0 ? body.slice(CRIO_RAN.length, at).trim() : '';
      if (!d || !id || id.includes(' ')) return undefined;
      return { id, meta: { kind: 'sandbox', sandboxId: id, namespace: d[0], podName: d[1] } };
    }
    return undefined;
  }
  if (c === 67 /* C */) {
    if (body.startsWith(CREATE_CTR)) {
      const sandboxId = quoted(body, CREATE_CTR.length);
      const at = body.indexOf(CREATE_CTR_RETURNS);
      if (!sandboxId || at < 0) return undefined;
      const id = quoted(body, at + CREATE_CTR_RETURNS.length);
      if (!id) return undefined;
      // `… for &ContainerMetadata{…} returns …` (the request line says `for container …`; accept both).
      let rest = body.slice(CREATE_CTR.length + sandboxId.length + 1, at).trim();
      if (rest.startsWith('for ')) rest = rest.slice(4).trimStart();
      if (rest.startsWith('container ')) rest = rest.slice(10);
      const name = parseCriMetadata(rest).name;
      const meta: PodMetadata = { kind: 'container', sandboxId };
      if (name) meta.containerName = name;
      return { id, meta };
    }
    if (body.startsWith(CRIO_CREATED)) {
      const colon = body.indexOf(': ', CRIO_CREATED.length);
      const id = colon > 0 ? body.slice(CRIO_CREATED.length, colon) : '';
      const d = colon > 0 ? description(body.slice(colon + 2)) : undefined;
      if (!d || !id || id.includes(' ')) return undefined;
      return { id, meta: { kind: 'container', namespace: d[0], podName: d[1], containerName: d[2] } };
    }
  }
  return undefined;
}
