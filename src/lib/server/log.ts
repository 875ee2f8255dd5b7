type Fields = Record<string, unknown>;

function describe(value: unknown): unknown {
	if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
	return value;
}

function write(level: 'info' | 'warn' | 'error', message: string, fields: Fields = {}) {
	const entry: Fields = { time: new Date().toISOString(), level, message };
	for (const [key, value] of Object.entries(fields)) entry[key] = describe(value);
	const line = JSON.stringify(entry);
	if (level === 'info') console.log(line);
	else console.error(line);
}

/** One JSON line per event, with the context that explains it. */
export const log = {
	info: (message: string, fields?: Fields) => write('info', message, fields),
	warn: (message: string, fields?: Fields) => write('warn', message, fields),
	error: (message: string, fields?: Fields) => write('error', message, fields)
};
