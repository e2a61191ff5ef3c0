// The helpers both test targets share (KernelGate, Requirement, Binary, Command, Loopback,
// tempPath, eventually, …), visible in every file of this target.
@_exported import TestSupport
