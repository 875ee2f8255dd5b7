/**
 * `use:onScreen={(visible) => …}`: tells an element when it comes within a screen's
 * reach of the viewport and when it leaves, so that a page of hundreds of panels draws
 * only the ones in view. One IntersectionObserver serves every element of the page.
 */
const callbacks = new WeakMap<Element, (visible: boolean) => void>();
let observer: IntersectionObserver | undefined;
/** Half a screen ahead: a panel scrolled towards is drawn by the time it shows. */
const AHEAD = 0.5;

function shared(): IntersectionObserver | undefined {
	if (typeof IntersectionObserver === 'undefined') return undefined;
	observer ??= new IntersectionObserver(
		(entries) => {
			for (const entry of entries) callbacks.get(entry.target)?.(entry.isIntersecting);
		},
		{ rootMargin: `${AHEAD * 100}% 0px` }
	);
	return observer;
}

export function onScreen(element: Element, callback: (visible: boolean) => void) {
	const watcher = shared();
	if (!watcher) {
		callback(true);
		return {};
	}
	callbacks.set(element, callback);
	watcher.observe(element);
	// The observer's first answer comes with the first frames, after the page's first paint
	// (seconds on a busy page): an element already in reach says so now, so that a panel's
	// history request starts as the page hydrates. The observer then keeps it up to date.
	const box = element.getBoundingClientRect();
	const height = window.innerHeight;
	if (
		box.height > 0 &&
		box.bottom >= -AHEAD * height &&
		box.top <= (1 + AHEAD) * height &&
		box.right >= 0 &&
		box.left <= window.innerWidth
	)
		callback(true);
	return {
		update(next: (visible: boolean) => void) {
			callbacks.set(element, next);
		},
		destroy() {
			watcher.unobserve(element);
			callbacks.delete(element);
		}
	};
}
