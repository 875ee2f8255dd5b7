import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StreamProxyOptions {
	/** Server-to-client bytes per second (unlimited when unset): a slow link. */
	bytesPerSecond?: number;
	/**
	 * Each connection is cut this long after the server's first byte on it (never when
	 * unset): a flaky link that carries this much time of an answer, however long the
	 * server took to start answering on a busy machine.
	 */
	cutAfterMs?: number;
}

/**
 * A TCP proxy in front of a server under test that fails the way real networks do
 * without telling anyone: it can hold connections open while forwarding nothing
 * (`freeze()`, as a stuck NAT or proxy does), throttle, and cut every connection
 * after a while. Connections opened after a freeze pass normally.
 */
export async function startStreamProxy(target: { port: number; host?: string }, options: StreamProxyOptions = {}) {
	const open = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean; streaming: boolean }>();
	let connections = 0;
	const pumps = new Map<object, NodeJS.Timeout>();
	const server = net.createServer((client) => {
		connections++;
		const upstream = net.connect(target.port, target.host ?? '127.0.0.1');
		const link = { client, upstream, frozen: false, streaming: false };
		upstream.on('data', (chunk: Buffer) => {
			if (!link.streaming && chunk.includes('text/event-stream')) link.streaming = true;
		});
		open.add(link);
		const close = () => {
			open.delete(link);
			client.destroy();
			upstream.destroy();
			clearTimeout(cut);
			clearInterval(pumps.get(link));
			pumps.delete(link);
		};
		let cut: NodeJS.Timeout | undefined;
		upstream.once('data', () => {
			if (options.cutAfterMs) cut = setTimeout(close, options.cutAfterMs);
		});
		client.on('data', (chunk) => link.frozen || upstream.write(chunk));
		client.on('error', close).on('close', close);
		upstream.on('error', close).on('close', close);

		if (!options.bytesPerSecond) {
			upstream.on('data', (chunk) => link.frozen || client.write(chunk));
			return;
		}
		const TICK_MS = 20;
		const perTick = Math.max(1, Math.round((options.bytesPerSecond * TICK_MS) / 1000));
		let queued = Buffer.alloc(0);
		upstream.on('data', (chunk) => {
			queued = Buffer.concat([queued, chunk]);
			if (queued.length > 1 << 20) upstream.pause();
		});
		pumps.set(
			link,
			setInterval(() => {
				if (link.frozen || queued.length === 0) return;
				client.write(queued.subarray(0, perTick));
				queued = queued.subarray(perTick);
				if (queued.length < 1 << 19) upstream.resume();
			}, TICK_MS)
		);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		/** How many event streams are open through the proxy now. */
		streams: () => [...open].filter((link) => link.streaming).length,
		/** How many connections clients have opened through the proxy. */
		connections: () => connections,
		/**
		 * Every event stream open now stops forwarding in both directions and stays open.
		 * Idle keep-alive connections are left alone, so that only the streams go quiet.
		 */
		freeze() {
			for (const link of open) if (link.streaming) link.frozen = true;
		},
		close() {
			for (const link of open) {
				link.client.destroy();
				link.upstream.destroy();
			}
			return new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}
