// Copies the console's third-party code from node_modules (installed from npm under
// package-lock.json) into public/vendor, with every licence in public/vendor/LICENSES.txt.
// `node vendor.mjs --check` rebuilds in memory and fails if the committed files differ.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const out = join(here, 'public', 'vendor');

/** [package, file inside the package, name in public/vendor] */
const files = [
  ['chart.js', 'dist/chart.umd.min.js', 'chart.umd.min.js'],
  ['d3-array', 'dist/d3-array.min.js', 'd3-array.min.js'],
  ['d3-geo', 'dist/d3-geo.min.js', 'd3-geo.min.js'],
  ['topojson-client', 'dist/topojson-client.min.js', 'topojson-client.min.js'],
  ['us-atlas', 'states-10m.json', 'states-10m.json'],
];

const outputs = new Map();
const licences = [];
for (const [pkg, file, name] of files) {
  const root = join(modules, pkg);
  const meta = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  let text = readFileSync(join(root, file), 'utf8');
  // Source maps are not shipped; drop the reference so no browser asks for one.
  text = text.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
  outputs.set(name, text);
  const licence = ['LICENSE', 'LICENSE.md', 'LICENSE.txt']
    .map((f) => join(root, f))
    .find((f) => existsSync(f));
  if (!licence) throw new Error(`${pkg}: no licence file`);
  licences.push(
    `${'='.repeat(72)}\n${pkg} ${meta.version} (${meta.license}) -> ${name}\n${'='.repeat(72)}\n` +
      readFileSync(licence, 'utf8').trim() + '\n',
  );
}
outputs.set('LICENSES.txt', licences.join('\n'));

if (process.argv.includes('--check')) {
  const stale = [...outputs].filter(([name, text]) => {
    const path = join(out, name);
    return !existsSync(path) || readFileSync(path, 'utf8') !== text;
  });
  if (stale.length) {
    console.error(`console/public/vendor is stale: ${stale.map(([n]) => n).join(', ')}; run npm run vendor --prefix console`);
    process.exit(1);
  }
  console.log(`console/public/vendor matches package-lock.json (${outputs.size} files)`);
} else {
  mkdirSync(out, { recursive: true });
  for (const [name, text] of outputs) writeFileSync(join(out, name), text);
  console.log(`wrote ${outputs.size} files to ${out}`);
}
