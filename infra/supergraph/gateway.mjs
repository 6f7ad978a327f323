// An Apollo gateway in front of carbonhub and the HR subgraph.
//
//   node compose.mjs carbonhub=carbonhub.graphql@http://127.0.0.1:8000/graphql \
//                    hr=hr.graphql@http://127.0.0.1:4001/ > supergraph.graphql
//   node gateway.mjs --port 4000 --supergraph supergraph.graphql
//
// It serves a static supergraph, the one compose.mjs produced: that is how a production router
// runs (Apollo advises against IntrospectAndCompose outside development), the gateway then
// serves exactly the artefact the composition check passed, and it needs no subgraph to be up
// when it starts. The routing URLs come from the supergraph (compose.mjs NAME=FILE@URL).
//
// The caller's Authorization header goes to carbonhub, which decides on every field and entity
// what that token may see. No other subgraph receives the token. When carbonhub answers 401
// (a token needed but missing, or a bad one) the caller gets that 401 and its Bearer challenge.
// "gateway ready at URL" is printed once it listens.
//
// @authenticated and @requiresScopes are router-only: @apollo/gateway cannot enforce them and
// refuses a supergraph that links them `for: SECURITY` (UNSUPPORTED_LINKED_FEATURE). carbonhub
// enforces the same rules itself on every field and entity (a subgraph must not rely on the
// router), so this gateway loads the supergraph with those two links no longer marked SECURITY
// and says so on stderr; any other SECURITY feature it cannot enforce still stops it.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Kind, parse, print, visit } from 'graphql';

// The gateway would otherwise send usage metrics to Apollo and probe cloud metadata endpoints.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

const FORWARD_AUTHORIZATION_TO = new Set(['carbonhub']);
const ENFORCED_BY_THE_SUBGRAPH = /^https:\/\/specs\.apollo\.dev\/(authenticated|requiresScopes)\//;

const { values: options } = parseArgs({
  options: {
    port: { type: 'string' },
    supergraph: { type: 'string' },
  },
});
if (!options.port || !options.supergraph) {
  process.stderr.write('usage: node gateway.mjs --port PORT --supergraph SUPERGRAPH.graphql\n');
  process.exit(2);
}

function withoutRouterOnlySecurity(supergraphSdl) {
  const relaxed = [];
  const document = visit(parse(supergraphSdl), {
    Directive(directive) {
      const url = directive.arguments?.find((a) => a.name.value === 'url')?.value;
      if (directive.name.value !== 'link' || url?.kind !== Kind.STRING || !ENFORCED_BY_THE_SUBGRAPH.test(url.value)) {
        return undefined;
      }
      relaxed.push(url.value);
      return { ...directive, arguments: directive.arguments.filter((a) => a.name.value !== 'for') };
    },
  });
  for (const url of relaxed) {
    process.stderr.write(`gateway: ${url} is not enforced here (router-only); the subgraphs enforce it\n`);
  }
  return print(document);
}

// RemoteGraphQLDataSource keeps every constructor option as a property: here `name` and `url`.
class Subgraph extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (FORWARD_AUTHORIZATION_TO.has(this.name) && context.authorization) {
      request.http.headers.set('authorization', context.authorization);
    }
  }

  // A subgraph's 401 (no token where one is needed, or a bad one) keeps its Bearer challenge.
  async errorFromResponse(response) {
    const error = await super.errorFromResponse(response);
    error.challenge = response.headers.get('www-authenticate') ?? undefined;
    return error;
  }
}

// The caller gets the 401 and the challenge a subgraph answered with, as from carbonhub itself.
const answerChallenges = {
  async requestDidStart() {
    let challenge;
    return {
      async didEncounterErrors({ errors }) {
        challenge ??= errors.map((e) => e.challenge ?? e.originalError?.challenge).find(Boolean);
      },
      async willSendResponse({ response }) {
        if (challenge) {
          response.http.status = 401;
          response.http.headers.set('www-authenticate', challenge);
        }
      },
    };
  },
};

// A failed subgraph fetch carries the subgraph's internal URL and raw answer: keep them inside.
function withoutSubgraphResponse(formatted) {
  const { response, ...extensions } = formatted.extensions ?? {};
  return { ...formatted, extensions };
}

const gateway = new ApolloGateway({
  supergraphSdl: withoutRouterOnlySecurity(readFileSync(options.supergraph, 'utf8')),
  buildService: ({ name, url }) => new Subgraph({ name, url }),
});
const server = new ApolloServer({
  gateway,
  plugins: [answerChallenges],
  formatError: withoutSubgraphResponse,
  includeStacktraceInErrorResponses: false,
});
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(options.port) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stdout.write(`gateway ready at ${url}\n`);
