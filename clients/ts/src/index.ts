/** The ecco TypeScript client: connect to a node by name, and run an agent that answers its requests. */
export * from "./node.ts";
export * from "./agent.ts";
