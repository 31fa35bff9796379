"""The dream worker and what decides how it dreams: settings, device, backend, host transfers."""
