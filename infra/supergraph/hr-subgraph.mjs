// A second subgraph beside carbonhub: an employer's HR directory, held in memory.
//
//   node hr-subgraph.mjs --port 4001 --directory directory.json      (or HR_DIRECTORY=file)
//
// It extends carbonhub's entities: Enterprise (key id) with headcount, departments and the ESG
// contact, Person (key id) with employee number, department and employer. Its own root field
// `employees(enterpriseId)` returns Person references, so a gateway query can start here and
// join carbonhub's Person fields (ledger, points), which carbonhub answers under its own access
// rules. The directory file:
//
//   { "enterprises": [{ "id": "...", "departments": ["Logistics"], "esgContact": "esg@..." }],
//     "people": [{ "id": "...", "enterpriseId": "...", "employeeNumber": "E-001", "department": "Logistics" }] }
//
// It prints "hr subgraph ready at URL" once it listens, and one line per request saying
// whether the request carried an Authorization header (HR needs none; the gateway sends none).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string' },
    directory: { type: 'string', default: process.env.HR_DIRECTORY },
  },
});
if (!options.port || !options.directory) {
  process.stderr.write('usage: node hr-subgraph.mjs --port PORT --directory DIRECTORY.json\n');
  process.exit(2);
}

const directory = JSON.parse(readFileSync(options.directory, 'utf8'));
const enterprises = new Map((directory.enterprises ?? []).map((e) => [String(e.id), e]));
const people = new Map((directory.people ?? []).map((p) => [String(p.id), p]));

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])

  type Query {
    """
    The employees of an enterprise, as references to persons. An item is null when another
    subgraph will not show the caller that person's requested fields, so one hidden colleague
    does not hide the whole list.
    """
    employees(enterpriseId: ID!): [Person]!
  }

  # A person as HR knows them (null fields for a person HR has no record of). No type
  # descriptions here: carbonhub's describe the entities, and composition would hint at both.
  type Person @key(fields: "id") {
    id: ID!
    employeeNumber: String
    department: String
    employer: Enterprise
  }

  type Enterprise @key(fields: "id") {
    id: ID!
    "Persons on the HR directory's payroll."
    headcount: Int!
    departments: [String!]!
    "Who answers ESG questions (an e-mail address)."
    esgContact: String
  }
`);

const staffOf = (enterpriseId) => [...people.values()].filter((p) => String(p.enterpriseId) === enterpriseId);
const person = (id) => people.get(String(id)) ?? { id };
const enterprise = (id) => enterprises.get(String(id)) ?? { id };

const resolvers = {
  Query: {
    employees: (_, { enterpriseId }) => staffOf(enterpriseId).map((p) => ({ id: p.id })),
  },
  Person: {
    __resolveReference: ({ id }) => person(id),
    id: ({ id }) => id,
    employeeNumber: ({ id }) => person(id).employeeNumber ?? null,
    department: ({ id }) => person(id).department ?? null,
    employer: ({ id }) => {
      const enterpriseId = person(id).enterpriseId;
      return enterpriseId ? { id: enterpriseId } : null;
    },
  },
  Enterprise: {
    __resolveReference: ({ id }) => enterprise(id),
    headcount: ({ id }) => staffOf(String(id)).length,
    departments: ({ id }) => enterprise(id).departments ?? [],
    esgContact: ({ id }) => enterprise(id).esgContact ?? null,
  },
};

const logRequests = {
  async requestDidStart({ request }) {
    const authorization = request.http?.headers.get('authorization') ? 'present' : 'absent';
    process.stdout.write(`hr request authorization=${authorization}\n`);
  },
};

const server = new ApolloServer({
  schema: buildSubgraphSchema({ typeDefs, resolvers }),
  plugins: [logRequests, ApolloServerPluginInlineTraceDisabled()],
  includeStacktraceInErrorResponses: false,
});
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(options.port) },
});
process.stdout.write(`hr subgraph ready at ${url}\n`);
