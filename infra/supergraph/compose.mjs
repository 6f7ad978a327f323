// Compose subgraph SDL files into a Federation v2 supergraph, as a router's build step would.
//
//   node compose.mjs carbonhub=carbonhub.graphql hr=hr.graphql        # name=path pairs
//   node compose.mjs carbonhub=carbonhub.graphql@http://127.0.0.1:8000/graphql ...
//   node compose.mjs --config supergraph.json
//
// A pair may end in @URL, the subgraph's routing URL (what a gateway sends its fetches to).
// The JSON config has rover's supergraph.yaml shape:
//   { "subgraphs": { "carbonhub": { "routing_url": "http://...", "schema": { "file": "x.graphql" } } } }
// (a relative "file" is read relative to the config file).
//
// On success the supergraph SDL goes to stdout (composition hints, if any, to stderr) and the
// exit code is 0. On failure every composition error goes to stderr as "CODE: message" and the
// exit code is 1; a usage or input problem exits with 2.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

function usage(message) {
  process.stderr.write(`${message}\nusage: node compose.mjs NAME=SDL_FILE[@URL]... | --config FILE.json\n`);
  process.exit(2);
}

function fromPairs(args) {
  return args.map((arg) => {
    const match = /^([A-Za-z][\w-]*)=([^@]+)(?:@(.+))?$/.exec(arg);
    if (!match) usage(`not a NAME=SDL_FILE[@URL] pair: ${arg}`);
    const [, name, file, url] = match;
    return { name, file: resolve(file), url };
  });
}

function fromConfig(path) {
  const config = JSON.parse(readFileSync(path, 'utf8'));
  return Object.entries(config.subgraphs ?? {}).map(([name, subgraph]) => ({
    name,
    file: resolve(dirname(path), subgraph.schema?.file ?? usage(`subgraph ${name} has no schema.file`)),
    url: subgraph.routing_url,
  }));
}

const args = process.argv.slice(2);
const subgraphs = args[0] === '--config' ? fromConfig(args[1] ?? usage('--config needs a file')) : fromPairs(args);
if (subgraphs.length === 0) usage('no subgraphs given');

const services = subgraphs.map(({ name, file, url }) => {
  let sdl;
  try {
    sdl = readFileSync(file, 'utf8');
  } catch (error) {
    usage(`cannot read the SDL of subgraph ${name}: ${error.message}`);
  }
  try {
    // composition names the subgraph in its messages; a local URL stands in when none is given
    return { name, url: url ?? `http://${name}.invalid/graphql`, typeDefs: parse(sdl) };
  } catch (error) {
    process.stderr.write(`INVALID_GRAPHQL: [${name}] ${error.message}\n`);
    process.exit(1);
  }
});

const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) {
    process.stderr.write(`${error.extensions?.code ?? 'COMPOSITION_ERROR'}: ${error.message}\n`);
  }
  process.exit(1);
}
for (const hint of result.hints ?? []) {
  process.stderr.write(`hint ${hint.definition.code}: ${hint.message}\n`);
}
process.stdout.write(result.supergraphSdl);
