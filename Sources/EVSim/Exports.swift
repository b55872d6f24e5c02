// `import EVSim` brings the whole simulator: the core (cluster, network, services) and the
// checkers, so code written against the single EVSim module keeps compiling.
@_exported import EVCheckers
@_exported import EVSimCore
