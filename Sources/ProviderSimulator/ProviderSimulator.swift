// Placeholder: the provider simulator is being built (issue 3).
public enum ProviderSimulatorPlaceholder {}
