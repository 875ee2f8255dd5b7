import { fileURLToPath } from 'node:url';
import { includeIgnoreFile } from '@eslint/compat';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

const gitignorePath = fileURLToPath(new URL('./.gitignore', import.meta.url));

export default defineConfig(
	includeIgnoreFile(gitignorePath),
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	prettier,
	...svelte.configs.prettier,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		rules: {
			// typescript-eslint says this rule gives false positives on TypeScript; tsc checks it.
			'no-undef': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
			// Vapor is served at the root (no paths.base), so a root-relative href is already
			// what resolve() would return.
			'svelte/no-navigation-without-resolve': 'off'
		}
	},
	{
		// Kysely migrations take Kysely<any> on purpose: a migration is frozen in time and
		// must not follow today's Database type.
		files: ['migrations/**'],
		rules: { '@typescript-eslint/no-explicit-any': 'off' }
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
		languageOptions: {
			// No projectService: no rule here needs type information (svelte-check has the types), and
			// building a TypeScript program for every .svelte file doubled the lint's time.
			parserOptions: { parser: ts.parser, svelteConfig }
		}
	}
);
