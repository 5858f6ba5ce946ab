// Placeholder: the simulator executable is being built (issue 3).
print("tributary-sim: not built yet")
