/**
 * Stands in for `tailwind-merge` (aliased in vite.config.ts), which LayerChart pulls in
 * through @layerstack/tailwind to resolve conflicts between Tailwind utility classes.
 * Vapor has no Tailwind: its charts are styled by plain classes that never conflict, so
 * joining is all that is needed, and it keeps ~9 kB (gzip) off the monitor page.
 */
export function twMerge(...classLists: (string | undefined | null | false)[]): string {
	return classLists.filter(Boolean).join(' ').replace(/\s+/g, ' ').trim();
}

export function extendTailwindMerge(): typeof twMerge {
	return twMerge;
}
