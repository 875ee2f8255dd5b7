export { default as FormField } from './FormField.svelte';
