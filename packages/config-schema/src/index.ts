// @runnerkit/config-schema: nothing is exported yet; see README.md for what this package is for.
export {};
