// The numeric kernels live in their own target (built -Ounchecked); everything that imports Engine sees them too.
@_exported import Kernels
