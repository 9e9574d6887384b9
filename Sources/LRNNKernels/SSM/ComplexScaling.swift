import ComplexModule

extension Complex {
    /// `z·a` for a real a.
    @inlinable
    static func * (z: Complex, a: RealType) -> Complex { z.multiplied(by: a) }

    /// `a·z` for a real a.
    @inlinable
    static func * (a: RealType, z: Complex) -> Complex { z.multiplied(by: a) }
}
