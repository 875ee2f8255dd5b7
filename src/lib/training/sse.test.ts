import { describe, expect, it } from 'vitest';
import { encodeComment, encodeMessage, encodeRetry, SseParser } from './sse';

describe('SSE encoding', () => {
	it('writes event, id and data lines and a blank line', () => {
		expect(encodeMessage({ event: 'metrics', id: '42', data: '[1]' })).toBe('event: metrics\nid: 42\ndata: [1]\n\n');
		expect(encodeMessage({ data: 'a\nb' })).toBe('data: a\ndata: b\n\n');
		expect(encodeRetry(2000)).toBe('retry: 2000\n\n');
		expect(encodeComment('heart\nbeat')).toBe(': heart beat\n\n');
	});
});

describe('SseParser', () => {
	const frames =
		encodeRetry(2000) +
		encodeMessage({ event: 'status', data: '{"a":1}' }) +
		encodeComment('heartbeat') +
		encodeMessage({ event: 'metrics', id: '7', data: 'x\ny' }) +
		encodeMessage({ data: 'plain' });

	it('reads back what the encoder wrote, with the id in force', () => {
		const parser = new SseParser();
		expect(parser.push(frames)).toEqual([
			{ event: 'status', data: '{"a":1}', lastEventId: '' },
			{ event: 'metrics', data: 'x\ny', lastEventId: '7' },
			{ event: 'message', data: 'plain', lastEventId: '7' }
		]);
		expect(parser.retry).toBe(2000);
		expect(parser.comments).toBe(1);
	});

	it('gives the same events whatever way the bytes are split', () => {
		const whole = new SseParser().push(frames);
		for (let size = 1; size < 12; size++) {
			const parser = new SseParser();
			const events = [];
			for (let i = 0; i < frames.length; i += size) events.push(...parser.push(frames.slice(i, i + size)));
			expect(events).toEqual(whole);
		}
	});

	it('accepts CRLF and CR line ends and fields without a space', () => {
		const parser = new SseParser();
		expect(parser.push('event:a\r\ndata:1\r\n\r\nevent: b\rdata: 2\r\r')).toEqual([
			{ event: 'a', data: '1', lastEventId: '' }
		]);
		// A final \r may be half of \r\n, so the event ends only when the next byte shows it is not.
		expect(parser.push(':')).toEqual([{ event: 'b', data: '2', lastEventId: '' }]);
	});

	it('holds back an unfinished event, and its id, so a client cut mid-event resumes before it', () => {
		const parser = new SseParser();
		parser.push(encodeMessage({ event: 'metrics', id: '5', data: '[5]' }));
		expect(parser.push('event: metrics\nid: 9\ndata: [6,7,8,9]\n')).toEqual([]);
		expect(parser.lastEventId).toBe('5');
		expect(parser.push('\n')).toEqual([{ event: 'metrics', data: '[6,7,8,9]', lastEventId: '9' }]);
		expect(parser.lastEventId).toBe('9');
	});
});
