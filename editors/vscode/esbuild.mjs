// Bundles the extension into dist/extension.js (the manifest's `main`); `vscode` stays external.
import * as esbuild from 'esbuild';

const options = {
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  logLevel: 'warning',
  // The packaged .vsix gets a minified bundle without source map; builds for tests keep the map.
  ...(process.argv.includes('--production') ? { minify: true, sourcemap: false } : { sourcemap: true }),
};

if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
