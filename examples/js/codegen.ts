// graphql-codegen reads walletql's printed schema (../../schema.graphql) and writes, into
// generated/ (committed; a test fails when they drift from the schema):
// - possible-types.js: which object types make up each union and interface. Apollo Client needs
//   it (`new InMemoryCache({ possibleTypes })`) to match `... on Error` against the error types
//   of a mutation's union; without it those fields are silently dropped.
// - schema-types.ts: TypeScript types for the schema. walletql's custom scalars travel as JSON
//   strings, so they are mapped to `string`; unmapped, codegen types them as `unknown`.
// Regenerate: npm run codegen --prefix examples/js
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  overwrite: true,
  generates: {
    "generated/possible-types.js": {
      plugins: ["fragment-matcher"],
      config: { apolloClientVersion: 3, module: "es2015" },
    },
    "generated/schema-types.ts": {
      plugins: ["typescript"],
      config: {
        scalars: { Decimal: "string", DateTime: "string" },
        strictScalars: true,
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
