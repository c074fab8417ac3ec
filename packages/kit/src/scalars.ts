// Shared scalars: every subgraph declares `scalar DateTime` and uses this implementation.
export { DateTimeResolver as DateTime } from 'graphql-scalars';
export { JSONResolver as JSONScalar } from 'graphql-scalars';
