/**
 * `use:onScreen={(visible) => …}`: tells an element when it comes within a screen's
 * reach of the viewport and when it leaves, so that a page of hundreds of panels draws
 * only the ones in view. One IntersectionObserver serves every element of the page.
 */
const callbacks = new WeakMap<Element, (visible: boolean) => void>();
let observer: IntersectionObserver | undefined;

function shared(): IntersectionObserver | undefined {
	if (typeof IntersectionObserver === 'undefined') return undefined;
	observer ??= new IntersectionObserver(
		(entries) => {
			for (const entry of entries) callbacks.get(entry.target)?.(entry.isIntersecting);
		},
		// Half a screen ahead: a panel scrolled towards is drawn by the time it shows.
		{ rootMargin: '50% 0px' }
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
