public import Hummingbird
import NIOCore

extension ProviderSimulator {
    /// The router with every simulator route; see `SimulatorRoutes` for the surface.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        SimulatorRoutes(simulator: self).add(to: router)
        return router
    }

    /// The application `tributary-sim` runs and tests run live: the routes on `configuration.host:port`,
    /// plus ``ProviderSimulatorService`` (mutation loop, webhook emitter), which starts before the server and stops after it.
    ///
    /// - Parameter onServerRunning: receives the bound port (useful with port 0).
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tributary-sim"),
            services: [ProviderSimulatorService(simulator: self)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}
