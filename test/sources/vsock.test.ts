// VsockSource against a hybrid-vsock peer in a child process (a Unix socket speaking the VMM's CONNECT/OK
// handshake, then the agent's JSON lines from the corpus), laid out as Kata lays out its run directories.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_ORIGIN_ADDRESS,
  ATTR_KATA_SANDBOX_ID,
} from '../../receiver/semconv/generated.js';
import {
  DEFAULT_HYBRID_VSOCK_ROOTS,
  VsockSource,
  findQemuSandboxes,
  type VsockSourceOptions,
} from '../../receiver/sources/vsock.js';
import { harness, tempDir, type Harness } from './source-harness.js';

const corpus = new URL('../../../shared/corpus/', import.meta.url);
const agentLinesFile = fileURLToPath(new URL('agent-json.log', corpus));
const agentLines = readFileSync(agentLinesFile, 'utf8').split('\n').filter(Boolean);
const peerScript = fileURLToPath(new URL('./fixtures/hvsock-peer.mjs', import.meta.url));

interface Conn {
  reply?: string | null;
  delayMs?: number;
  lines?: [number, number];
  end?: 'close' | 'hold';
  tick?: number;
}
interface Peer {
  events: Array<Record<string, unknown>>;
  child: ChildProcess;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function startPeer(socket: string, connections: Conn[], handshake = true): Promise<Peer> {
  const child = spawn(
    process.execPath,
    [peerScript, JSON.stringify({ socket, linesFile: agentLinesFile, connections, handshake })],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  const deadline = Date.now() + 10_000;
  while (!events.some((e) => e['event'] === 'listening')) {
    if (Date.now() > deadline) throw new Error('peer did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { events, child };
}

/** Kata's default layouts, moved under a temporary directory. */
function layout(base: string): VsockSourceOptions['roots'] {
  return DEFAULT_HYBRID_VSOCK_ROOTS.map((r) => ({ ...r, dir: join(base, r.dir) }));
}

const SANDBOX = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
const fast = { pollMs: 50, flushMs: 20, reconnectInitialMs: 50, reconnectMaxMs: 200 };

async function runUntil(h: Harness, source: VsockSource, pred: () => boolean, what: string): Promise<void> {
  const run = source.run(h.ctx);
  try {
    await h.waitFor(pred, what);
  } finally {
    h.controller.abort();
    await run;
  }
}

describe('VsockSource over hybrid vsock', () => {
  it('does the CONNECT 1025 handshake and streams the agent lines tagged with the sandbox', async () => {
    // A short base: a Unix socket path is limited to 107 bytes and this one holds a 64-character sandbox id.
    const base = tempDir('ko-');
    const peer = await startPeer(join(base, 'run/vc/vm', SANDBOX, 'clh.sock'), [
      { reply: 'OK 1073741824', lines: [0, agentLines.length], end: 'hold' },
    ]);
    const h = harness();
    await runUntil(
      h,
      new VsockSource({ roots: layout(base), ...fast }),
      () => h.texts().length === agentLines.length,
      'all agent lines',
    );
    expect(h.texts()).toEqual(agentLines);
    expect(peer.events.find((e) => e['event'] === 'command')?.['command']).toBe('CONNECT 1025');
    for (const b of h.batches) {
      expect(b.source).toBe('vsock');
      expect(b.attributes).toEqual({
        [ATTR_KATA_SANDBOX_ID]: SANDBOX,
        [ATTR_KATA_LOG_CARRIER]: 'vsock',
        [ATTR_KATA_HYPERVISOR_NAME]: 'cloud-hypervisor',
        [ATTR_KATA_COMPONENT]: 'agent',
        [ATTR_KATA_LOG_ORIGIN]: 'vsock',
        [ATTR_KATA_LOG_ORIGIN_ADDRESS]: join(base, 'run/vc/vm', SANDBOX, 'clh.sock'),
      });
    }
  });

  it('retries after a refusal (ERR), a close without reply, and a handshake timeout', async () => {
    const base = tempDir();
    const peer = await startPeer(join(base, 'run/vc/firecracker', 'fc1', 'root/kata.hvsock'), [
      { reply: 'ERR connection refused' },
      { reply: null },
      { reply: 'OK 1073741825', delayMs: 2000, lines: [0, 3], end: 'hold' },
      { reply: 'OK 1073741826', lines: [3, 8], end: 'hold' },
    ]);
    const h = harness();
    await runUntil(
      h,
      new VsockSource({ roots: layout(base), ...fast, handshakeTimeoutMs: 300, port: 2048 }),
      () => h.texts().length === 5,
      'lines from the fourth connection',
    );
    // Only the connection that answered in time delivered; the slow one was abandoned before its OK.
    expect(h.texts()).toEqual(agentLines.slice(3, 8));
    expect(h.batches[0]?.attributes?.[ATTR_KATA_HYPERVISOR_NAME]).toBe('firecracker');
    expect(peer.events.filter((e) => e['event'] === 'command').map((e) => e['command'])).toEqual(
      Array(4).fill('CONNECT 2048'),
    );
    const reasons = h.logs.filter((l) => l['msg'] === 'agent log connection failed; retrying').map((l) => l['reason']);
    expect(reasons[0]).toBe("handshake refused: 'ERR connection refused'");
    expect(reasons[1]).toMatch(/^closed before the handshake reply/);
    expect(reasons[2]).toBe('no handshake reply within 300 ms');
  });

  it('reconnects after the stream drops mid-way and continues without loss or duplicates', async () => {
    const base = tempDir();
    await startPeer(join(base, 'run/kata', 'rs1', 'root/kata.hvsock'), [
      { reply: 'OK 1', lines: [0, 40], end: 'close' },
      { reply: 'OK 2', lines: [40, agentLines.length], end: 'hold' },
    ]);
    const h = harness();
    await runUntil(
      h,
      new VsockSource({ roots: layout(base), ...fast }),
      () => h.texts().length === agentLines.length,
      'all lines',
    );
    expect(h.texts()).toEqual(agentLines);
    expect(new Set(h.batches.map((b) => b.attributes?.[ATTR_KATA_HYPERVISOR_NAME]))).toEqual(new Set(['dragonball']));
    expect(h.logs.some((l) => l['msg'] === 'agent log stream ended; reconnecting')).toBe(true);
  });

  it('stops reading a sandbox when its directory goes away, and keeps reading the others', async () => {
    const base = tempDir();
    const a = await startPeer(join(base, 'run/vc/vm', 'sbx-a', 'clh.sock'), [{ reply: 'OK 1', tick: 30, end: 'hold' }]);
    await startPeer(join(base, 'run/kata', 'sbx-b', 'ch-vm.sock'), [{ reply: 'OK 1', tick: 30, end: 'hold' }]);
    const h = harness();
    const run = new VsockSource({ roots: layout(base), ...fast }).run(h.ctx);
    const from = (id: string) => h.batches.filter((b) => b.attributes?.[ATTR_KATA_SANDBOX_ID] === id);
    await h.waitFor(() => from('sbx-a').length > 0 && from('sbx-b').length > 0, 'ticks from both sandboxes');
    rmSync(join(base, 'run/vc/vm', 'sbx-a'), { recursive: true });
    await h.waitFor(() => a.events.some((e) => e['event'] === 'closed'), 'the source to close sandbox a');
    const bBefore = from('sbx-b').length;
    await h.waitFor(() => from('sbx-b').length > bBefore + 2, 'sandbox b to keep flowing');
    h.controller.abort();
    await run;
    expect(a.events.filter((e) => e['event'] === 'command')).toHaveLength(1);
    expect(
      h.logs.some(
        (l) => l['msg'] === 'sandbox gone; stopped reading its agent log' && l[ATTR_KATA_SANDBOX_ID] === 'sbx-a',
      ),
    ).toBe(true);
    expect(from('sbx-b')[0]?.attributes?.[ATTR_KATA_HYPERVISOR_NAME]).toBe('cloud-hypervisor');
  });

  it('accepts plain root paths: Kata layouts for the default roots, every known socket name otherwise', async () => {
    const base = tempDir('ko-');
    await startPeer(join(base, 'custom', 'sbx-c', 'root/kata.hvsock'), [{ reply: 'OK 1', lines: [0, 2], end: 'hold' }]);
    await startPeer(join(base, 'run/vc/vm', 'sbx-d', 'clh.sock'), [{ reply: 'OK 1', lines: [2, 4], end: 'hold' }]);
    const h = harness();
    const roots = [join(base, 'custom'), join(base, 'run/vc/vm')];
    await runUntil(h, new VsockSource({ roots, ...fast }), () => h.texts().length === 4, 'lines from both');
    const hv = (id: string) =>
      h.batches.find((b) => b.attributes?.[ATTR_KATA_SANDBOX_ID] === id)?.attributes?.[ATTR_KATA_HYPERVISOR_NAME];
    expect(hv('sbx-c')).toBe('dragonball');
    expect(hv('sbx-d')).toBe('cloud-hypervisor');
  });

  it('reads nothing in once mode (a live stream cannot be replayed) and says so', async () => {
    const h = harness({ once: true });
    await new VsockSource({ roots: layout(tempDir()) }).run(h.ctx);
    expect(h.entries()).toEqual([]);
    expect(h.logs.some((l) => String(l['msg']).includes('once mode'))).toBe(true);
  });
});

describe('VsockSource over plain vsock (QEMU)', () => {
  /** A process whose command line looks like Kata's QEMU (the source finds sandboxes by it in /proc). */
  function fakeQemu(id: string, cid: number): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        '-e',
        'setInterval(() => {}, 1e6)',
        '--',
        '-name',
        `sandbox-${id}`,
        '-qmp',
        `unix:/run/vc/vm/${id}/qmp.sock,server=on,wait=off`,
        '-device',
        `vhost-vsock-pci,disable-modern=false,vhostfd=3,id=vsock-${cid},guest-cid=${cid},romfile=`,
      ],
      { stdio: 'ignore' },
    );
    children.push(child);
    return child;
  }

  it('finds QEMU sandboxes and their guest CID from /proc', async () => {
    const q = fakeQemu('qemu-sbx-1', 555233078);
    let found: Awaited<ReturnType<typeof findQemuSandboxes>> = [];
    // The child's /proc/<pid>/cmdline shows node's argv once it has exec'd: poll for it.
    for (let i = 0; i < 250 && !found.some((f) => f.pid === q.pid); i++) {
      await new Promise((r) => setTimeout(r, 20));
      found = await findQemuSandboxes('/proc', ['/run/vc/vm', '/run/kata']);
    }
    expect(found.find((f) => f.pid === q.pid)).toEqual({ pid: q.pid, id: 'qemu-sbx-1', cid: 555233078 });
  });

  const hasSocat = spawnSync('socat', ['-V']).status === 0;

  it.skipIf(!hasSocat)('reads the agent stream through the helper process, tagged with the QEMU sandbox', async () => {
    // This host has no vsock transport to a guest, so the helper command is pointed at a Unix socket instead of
    // VSOCK-CONNECT: the same socat process and plumbing, a different address.
    const base = tempDir();
    const q = fakeQemu('qemu-sbx-2', 4242);
    await startPeer(join(base, 'agent-4242.sock'), [{ lines: [0, 20], end: 'hold' }], false);
    const h = harness();
    const source = new VsockSource({
      roots: [],
      ...fast,
      plain: { enabled: true, device: '/dev/null', helper: ['socat', '-', `UNIX-CONNECT:${base}/agent-{cid}.sock`] },
    });
    await runUntil(h, source, () => h.texts().length === 20, 'lines through socat');
    expect(h.texts()).toEqual(agentLines.slice(0, 20));
    expect(h.batches[0]?.attributes?.[ATTR_KATA_SANDBOX_ID]).toBe('qemu-sbx-2');
    expect(h.batches[0]?.attributes?.[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    q.kill();
  });

  it('names what is missing: the vsock device or the helper', async () => {
    const noDev = harness();
    const run1 = new VsockSource({ roots: [], plain: { enabled: true, device: '/nonexistent/vsock' } }).run(noDev.ctx);
    await noDev.waitFor(() => noDev.logs.some((l) => l['level'] === 'error'), 'the error');
    noDev.controller.abort();
    await run1;
    expect(String(noDev.logs.find((l) => l['level'] === 'error')?.['msg'])).toMatch(
      /\/nonexistent\/vsock.*vhost_vsock/,
    );

    const noHelper = harness();
    const run = new VsockSource({
      roots: [],
      pollMs: 50,
      plain: { enabled: true, device: '/dev/null', helper: ['/nonexistent/socat', '-', 'VSOCK-CONNECT:{cid}:{port}'] },
    }).run(noHelper.ctx);
    await noHelper.waitFor(() => noHelper.logs.some((l) => l['level'] === 'error'), 'the error');
    noHelper.controller.abort();
    await run;
    expect(String(noHelper.logs.find((l) => l['level'] === 'error')?.['msg'])).toMatch(
      /\/nonexistent\/socat.*install socat/,
    );
  });
});
