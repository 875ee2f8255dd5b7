/** The end of a process or page: finish what is live, failing it when the script died. */
import { liveRuns, type Logger } from './run.js';

/** The little of Node's `process` used here (the client has no Node types: it runs in browsers too). */
interface NodeProcess {
	pid: number;
	exitCode?: number | string;
	on(event: string, listener: (...args: never[]) => void): unknown;
	off(event: string, listener: (...args: never[]) => void): unknown;
	listenerCount(event: string): number;
	kill(pid: number, signal: string): void;
	exit(code?: number): never;
}

const nodeProcess = (): NodeProcess | undefined => {
	const candidate = (globalThis as unknown as { process?: Partial<NodeProcess> }).process;
	return typeof candidate?.on === 'function' && typeof candidate.listenerCount === 'function'
		? (candidate as NodeProcess)
		: undefined;
};

let installed = false;

export function installExitHooks(logger: Logger): void {
	if (installed) return;
	installed = true;
	const process = nodeProcess();
	if (process) installNodeHooks(process, logger);
	else if (typeof addEventListener === 'function') {
		addEventListener('pagehide', (event) => {
			const persisted = (event as { persisted?: boolean }).persisted ?? false;
			for (const run of liveRuns()) run.flushOnPageHide(persisted);
		});
	}
}

const finishAll = (reason?: string) =>
	Promise.all(liveRuns().map((run) => (reason === undefined ? run.finish() : run.fail(reason))));

function installNodeHooks(process: NodeProcess, logger: Logger): void {
	// The event loop has drained without finish(): finish now (the flush keeps it alive, bounded).
	process.on('beforeExit', () => {
		if (liveRuns().length > 0) void finishAll();
	});

	// process.exit() gives no time for anything asynchronous: say what is lost.
	process.on('exit', () => {
		const left = liveRuns().reduce((sum, run) => sum + run.unsentValues, 0);
		if (liveRuns().length > 0)
			logger.warn(
				`Vapor: the process exited before finish(): ${left.toLocaleString('en')} values were not sent and the job stays ` +
					'running until Vapor loses contact (await run.finish() before process.exit()).'
			);
	});

	for (const [signal, reason] of [
		['SIGTERM', 'the training script was terminated (SIGTERM)'],
		['SIGINT', 'stopped by Ctrl+C (SIGINT)']
	] as const) {
		// Only where the script has not taken the signal itself; then it dies of it as before.
		if (process.listenerCount(signal) > 0) continue;
		const onSignal = () => {
			void finishAll(reason).then(() => {
				process.off(signal, onSignal);
				if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
			});
		};
		process.on(signal, onSignal);
	}

	// Node prints an uncaught exception and exits 1; with Vapor's the only handler, it does the
	// same after failing the job with it.
	if (process.listenerCount('uncaughtException') === 0) {
		const onUncaught = (error: unknown) => {
			if (process.listenerCount('uncaughtException') > 1) return;
			console.error(error);
			const reason = error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${String(error)}`;
			void finishAll(reason).finally(() => process.exit(1));
		};
		process.on('uncaughtException', onUncaught);
	}
}
