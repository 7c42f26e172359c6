// `kata-otel verify`: check the hash chains in store files and in OTLP/JSON files written by a Collector's file
// exporter from kata-otel's export, and name every record that was modified, deleted, reordered or inserted,
// with its position (`file:line#n`, n = the record's place in that line's request) and sequence number.
//
// Per stream (`kata.integrity.stream`), in file order:
//   modified   the record's chain value does not match its own content and previous hash
//   inserted   a record without chain attributes in a chained file, or a second, different record with a
//              sequence number already taken (the one that links to its neighbours is the original)
//   reordered  a sequence number lower than one already seen (and not an identical re-send)
//   deleted    a gap in the sequence numbers, a broken link between consecutive numbers, or records a
//              checkpoint anchors (possibly from another file: the remote copy) that are missing or differ
// Identical re-sends (at-least-once delivery) are counted, not reported. A store file's last line without a
// trailing newline is a write cut short by a crash (never acknowledged), reported but not as tampering.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { decodeLogsJson } from '../otlp/index.js';
import {
  ATTR_AUDIT_INTEGRITY_ALGORITHM,
  ATTR_AUDIT_INTEGRITY_VALUE,
  ATTR_AUDIT_SEQUENCE_NUMBER,
  ATTR_AUDIT_SEQUENCE_PREV_HASH,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD,
  ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE,
  ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM,
  ATTR_KATA_INTEGRITY_STREAM,
  ATTR_KATA_SANDBOX_ID,
  EVENT_KATA_INTEGRITY_CHECKPOINT,
} from '../semconv/generated.js';
import { ALG_HMAC, GENESIS, canonical, chainValue } from './chain.js';

export type FindingKind = 'modified' | 'inserted' | 'reordered' | 'deleted' | 'torn-tail' | 'unchained';

export interface Finding {
  kind: FindingKind;
  /** False for what is not evidence of tampering (a crash's torn tail). */
  tampering: boolean;
  /** `file:line#n` or `file:line`. */
  where: string;
  stream?: string;
  seq?: number;
  message: string;
}

export interface VerifyInput {
  path: string;
  /** A kata-otel store file (a missing last newline is a crash, not tampering). */
  store: boolean;
}

export interface VerifyResult {
  files: number;
  records: number;
  duplicates: number;
  streams: { stream: string; records: number; first: number; last: number }[];
  findings: Finding[];
  tampered: boolean;
}

/** Input that cannot be read at all (exit 2). */
export class VerifyInputError extends Error {}

interface Entry {
  where: string;
  order: number;
  stream: string;
  seq: number;
  prev: string;
  value: string;
  selfOk: boolean;
  canon: string;
  anchor?: { stream: string; seq: number; head: string };
}

/** Store files and `.json`/`.jsonl` files of a directory, in name order (= write order for both). */
async function expand(path: string, store: boolean): Promise<VerifyInput[]> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new VerifyInputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!st.isDirectory()) return [{ path, store }];
  const names = (await readdir(path)).filter((n) => /\.jsonl?$/.test(n)).sort();
  return names.map((n) => ({ path: join(path, n), store }));
}

export async function verifyPaths(
  opts: { dataDir?: string; paths: string[]; storeDirs?: string[] },
  key?: Buffer,
): Promise<VerifyResult> {
  const inputs: VerifyInput[] = [];
  if (opts.dataDir) inputs.push(...(await expand(join(opts.dataDir, 'store'), true)));
  for (const d of opts.storeDirs ?? []) inputs.push(...(await expand(d, true)));
  for (const p of opts.paths) {
    // A kata-otel store file by its name; anything else is Collector output.
    const isStore = /(^|\/)logs-\d{8}T\d{9}Z-\d{6,}\.jsonl$/.test(p);
    inputs.push(...(await expand(p, isStore)));
  }
  return verifyInputs(inputs, key);
}

export async function verifyInputs(inputs: VerifyInput[], key?: Buffer): Promise<VerifyResult> {
  const findings: Finding[] = [];
  const entries: Entry[] = [];
  let records = 0;
  let unchained = 0;
  let order = 0;
  let needKey = false;
  for (const input of inputs) {
    let text: string;
    try {
      text = await readFile(input.path, 'utf8');
    } catch (err) {
      throw new VerifyInputError(
        `cannot read ${input.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const lines = text.split('\n');
    const lastLine = lines.length - 1; // text after the last \n ('' when the file ends with one)
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${input.path}:${i + 1}`;
      const recs = decodeLine(line);
      if (!recs) {
        const torn = input.store && i === lastLine;
        findings.push({
          kind: torn ? 'torn-tail' : 'modified',
          tampering: !torn,
          where,
          message: torn
            ? 'last line cut short (a write interrupted by a crash; never acknowledged, its records were written again)'
            : 'line does not decode as an OTLP/JSON request: modified',
        });
        return;
      }
      recs.forEach(({ record, covered }, n) => {
        records++;
        const at = `${where}#${n + 1}`;
        const a = record.attributes;
        const seq = a[ATTR_AUDIT_SEQUENCE_NUMBER];
        const stream = a[ATTR_KATA_INTEGRITY_STREAM];
        const value = a[ATTR_AUDIT_INTEGRITY_VALUE];
        const prev = a[ATTR_AUDIT_SEQUENCE_PREV_HASH];
        if (
          typeof seq !== 'number' ||
          typeof stream !== 'string' ||
          typeof value !== 'string' ||
          typeof prev !== 'string'
        ) {
          unchained++;
          findings.push({
            kind: 'inserted',
            tampering: true,
            where: at,
            message: 'record without integrity attributes (audit.sequence.number, audit.integrity.value): inserted',
          });
          return;
        }
        const hmac = a[ATTR_AUDIT_INTEGRITY_ALGORITHM] === ALG_HMAC;
        if (hmac && !key) needKey = true;
        const canon = canonical(record, covered);
        const selfOk = chainValue(prev, canon, hmac ? key : undefined) === value;
        const e: Entry = { where: at, order: order++, stream, seq, prev, value, selfOk, canon };
        if (record.eventName === EVENT_KATA_INTEGRITY_CHECKPOINT) {
          const s = a[ATTR_KATA_INTEGRITY_CHECKPOINT_STREAM];
          const q = a[ATTR_KATA_INTEGRITY_CHECKPOINT_SEQUENCE];
          const h = a[ATTR_KATA_INTEGRITY_CHECKPOINT_HEAD];
          if (typeof s === 'string' && typeof q === 'number' && typeof h === 'string')
            e.anchor = { stream: s, seq: q, head: h };
        }
        entries.push(e);
      });
    });
  }
  if (needKey)
    throw new VerifyInputError('the records are chained with HMAC-SHA256: give the key with --key-file FILE');

  let duplicates = 0;
  const streams: VerifyResult['streams'] = [];
  const bySeq = new Map<string, Map<number, Entry>>();
  const byStream = new Map<string, Entry[]>();
  for (const e of entries) {
    let l = byStream.get(e.stream);
    if (!l) byStream.set(e.stream, (l = []));
    l.push(e);
  }
  for (const [stream, list] of byStream) {
    const chosen = new Map<number, Entry>();
    bySeq.set(stream, chosen);
    // 1. Each record against its own content.
    for (const e of list) {
      if (!e.selfOk)
        findings.push({
          kind: 'modified',
          tampering: true,
          where: e.where,
          stream,
          seq: e.seq,
          message: `record ${e.seq}: content or chain fields changed (audit.integrity.value does not match)`,
        });
    }
    // 2. File order, and sequence numbers taken twice.
    let maxSeen: Entry | undefined;
    const extra: Entry[] = [];
    for (const e of list) {
      const first = chosen.get(e.seq);
      if (first) {
        if (first.value === e.value && first.canon === e.canon) duplicates++;
        else extra.push(e);
        continue;
      }
      chosen.set(e.seq, e);
      if (maxSeen && e.seq < maxSeen.seq)
        findings.push({
          kind: 'reordered',
          tampering: true,
          where: e.where,
          stream,
          seq: e.seq,
          message: `record ${e.seq} comes after record ${maxSeen.seq} (${maxSeen.where}): reordered`,
        });
      if (!maxSeen || e.seq > maxSeen.seq) maxSeen = e;
    }
    // 3. The same number twice with different content: the original is the one that links to its neighbours.
    for (const e of extra) {
      const first = chosen.get(e.seq)!;
      const next = chosen.get(e.seq + 1);
      const prev = chosen.get(e.seq - 1);
      const links = (x: Entry) =>
        x.selfOk && (!next || next.prev === x.value) && (!prev ? true : x.prev === prev.value);
      const [orig, fake] = links(e) && !links(first) ? [e, first] : [first, e];
      chosen.set(e.seq, orig);
      findings.push({
        kind: 'inserted',
        tampering: true,
        where: fake.where,
        stream,
        seq: fake.seq,
        message: `a second record numbered ${fake.seq} (the chained one is at ${orig.where}): inserted`,
      });
    }
    // 4. Gaps and broken links between consecutive numbers.
    const seqs = [...chosen.keys()].sort((a, b) => a - b);
    for (let i = 0; i < seqs.length; i++) {
      const cur = chosen.get(seqs[i]!)!;
      if (i === 0) {
        if (cur.seq === 1 && cur.prev !== GENESIS)
          findings.push({
            kind: 'modified',
            tampering: true,
            where: cur.where,
            stream,
            seq: 1,
            message: 'the first record does not start the chain (previous hash is not 64 zeros)',
          });
        continue;
      }
      const before = chosen.get(seqs[i - 1]!)!;
      if (cur.seq > before.seq + 1) {
        const n = cur.seq - before.seq - 1;
        findings.push({
          kind: 'deleted',
          tampering: true,
          where: cur.where,
          stream,
          seq: before.seq + 1,
          // A gap is also how a loss on the way shows: the numbers are taken when the queue stores the records.
          message: `${n} record${n > 1 ? 's' : ''} (${before.seq + 1}${n > 1 ? `–${cur.seq - 1}` : ''}) missing between ${before.where} and ${cur.where}: deleted, or lost before they got here (refused permanently by the backend, dropped from a full or damaged queue: the receiver logs each loss with its numbers)`,
        });
      } else if (cur.prev !== before.value && cur.selfOk && before.selfOk) {
        findings.push({
          kind: 'modified',
          tampering: true,
          where: cur.where,
          stream,
          seq: cur.seq,
          message: `record ${cur.seq} does not link to record ${before.seq} (${before.where}): one of them was replaced with a recomputed hash`,
        });
      }
    }
    streams.push({ stream, records: chosen.size, first: seqs[0] ?? 0, last: seqs[seqs.length - 1] ?? 0 });
  }
  // 5. Checkpoints: what they anchor must be there, unchanged (the remote copy catches a rewritten store).
  for (const e of entries) {
    const a = e.anchor;
    if (!a) continue;
    const chosen = bySeq.get(a.stream);
    if (!chosen) continue; // that stream was not given
    const s = streams.find((x) => x.stream === a.stream)!;
    const target = chosen.get(a.seq);
    if (target && target.value !== a.head)
      findings.push({
        kind: 'modified',
        tampering: true,
        where: target.where,
        stream: a.stream,
        seq: a.seq,
        message: `record ${a.seq} differs from the checkpoint at ${e.where} (head ${a.head.slice(0, 16)}…): the chain was rewritten`,
      });
    else if (!target && a.seq > s.last)
      findings.push({
        kind: 'deleted',
        tampering: true,
        where: e.where,
        stream: a.stream,
        seq: s.last + 1,
        message: `the checkpoint at ${e.where} covers ${a.seq} records but the stream ends at ${s.last}: records ${s.last + 1}–${a.seq} deleted`,
      });
  }
  if (unchained === records && records > 0) {
    findings.length = 0;
    findings.push({
      kind: 'unchained',
      tampering: true,
      where: inputs.map((i) => i.path).join(', '),
      message: 'no record carries integrity attributes (written with integrity off?): nothing can be verified',
    });
  }
  findings.sort((x, y) => (x.where < y.where ? -1 : x.where > y.where ? 1 : 0));
  return { files: inputs.length, records, duplicates, streams, findings, tampered: findings.some((f) => f.tampering) };
}

interface Decoded {
  record: KataLogRecord;
  /** The attributes the chain covers: the record's own plus the resource's sandbox and component. */
  covered: Attributes;
}

/** One OTLP/JSON request line → its records, or undefined when it does not decode. */
function decodeLine(line: string): Decoded[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  let bad = false;
  const recs = decodeLogsJson(line, () => (bad = true));
  if (bad) return undefined;
  // Which keys each record carries itself (the decoder merges the resource in): walk the request as it did.
  const own: Set<string>[] = [];
  type J = { attributes?: { key?: unknown }[] };
  const rls = (doc as { resourceLogs?: { scopeLogs?: { logRecords?: J[] }[] }[] }).resourceLogs ?? [];
  for (const rl of rls)
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? []) own.push(new Set((lr.attributes ?? []).map((x) => String(x.key))));
  if (own.length !== recs.length) return undefined;
  return recs.map((record, i) => {
    const covered: Attributes = {};
    for (const [k, v] of Object.entries(record.attributes))
      if (own[i]!.has(k) || k === ATTR_KATA_SANDBOX_ID || k === ATTR_KATA_COMPONENT) covered[k] = v;
    return { record, covered };
  });
}
