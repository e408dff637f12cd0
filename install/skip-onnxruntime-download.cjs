#!/usr/bin/env node
/**
 * score-sde's `preinstall`: keeps onnxruntime-node's postinstall from downloading anything.
 *
 * onnxruntime-node 1.29's postinstall (`node ./script/install`) fetches the CUDA 12 provider
 * libraries from api.nuget.org (a failed install offline; a CUDA build this package does not use
 * online) unless every file of its platform's install manifest (script/install-metadata.js) is
 * already in its bin folder, or the installing user set ONNXRUNTIME_NODE_INSTALL. A package cannot
 * set its dependency's environment, but npm runs every package's preinstall before any package's
 * postinstall, so here we write a short text placeholder for each missing manifest file. The
 * postinstall then finds them and exits without touching the network. onnxruntime loads those
 * files only when the CUDA or TensorRT provider is requested; `score-sde enable-cuda` replaces
 * the CUDA ones with real libraries, and `score-sde inspect` reports a placeholder as such.
 *
 * Never fails the install: anything unexpected (another onnxruntime-node layout) is a warning.
 * Plain CommonJS with no dependencies: it runs before anything is built or linked.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

/** First bytes of a placeholder; models/onnx/cuda-diagnosis.ts recognises files by it. */
const PLACEHOLDER_MARK = 'score-sde placeholder';

function log(line) {
  process.stderr.write(`score-sde preinstall: ${line}\n`);
}

/** The user asked onnxruntime-node for something explicitly: their choice wins. */
function userChoseInstall() {
  const e = process.env;
  return Boolean(
    e.ONNXRUNTIME_NODE_INSTALL || e.npm_config_onnxruntime_node_install || e.ONNXRUNTIME_NODE_INSTALL_CUDA || e.npm_config_onnxruntime_node_install_cuda,
  );
}

function main() {
  if (userChoseInstall()) {
    log('ONNXRUNTIME_NODE_INSTALL (or its npm config) is set: leaving onnxruntime-node\'s installer to it');
    return;
  }
  let ortDir;
  try {
    ortDir = path.dirname(require.resolve('onnxruntime-node/package.json', { paths: [__dirname] }));
  } catch {
    return; // not installed (yet): its postinstall will not run either
  }
  const metadataFile = path.join(ortDir, 'script', 'install-metadata.js');
  if (!fs.existsSync(metadataFile)) return; // a version without the downloading installer
  const metadata = require(metadataFile);
  const platform = `${os.platform()}/${os.arch()}`;
  const binDir = path.join(ortDir, 'bin', 'napi-v6', platform);
  const written = [];
  for (const name of (metadata.requirements && metadata.requirements[platform]) || []) {
    const manifest = (metadata.manifests && metadata.manifests[`${platform}:${name}`]) || {};
    for (const file of Object.keys(manifest)) {
      const target = path.join(binDir, file);
      if (fs.existsSync(target)) continue;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(
        target,
        `${PLACEHOLDER_MARK}: not a library. Written so that onnxruntime-node's postinstall downloads nothing ` +
          `(its ${name} files from NuGet). To run on an NVIDIA GPU: npx score-sde enable-cuda\n`,
      );
      written.push(path.basename(target));
    }
  }
  if (written.length) {
    log(`wrote placeholders for ${written.join(', ')} in ${binDir}: onnxruntime-node's installer will download nothing (CPU works as is; for CUDA run: npx score-sde enable-cuda)`);
  }
}

try {
  main();
} catch (err) {
  log(`warning: could not prepare onnxruntime-node (${err && err.message}); its postinstall may try to download from api.nuget.org (set ONNXRUNTIME_NODE_INSTALL=skip to prevent that)`);
}
