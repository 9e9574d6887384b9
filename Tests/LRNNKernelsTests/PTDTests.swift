import ComplexModule
import LRNNKernels
import LRNNLinearAlgebra
import LRNNTestSupport
import Testing

@Suite("Perturb-then-diagonalise")
struct PTDTests {
    @Test("E = 0 at N = 8 reproduces LegS's eigenvalues −1 … −8")
    func unperturbed() throws {
        let (a, b) = try HiPPO.transition(.legs, n: 8, as: Double.self)
        let d = try PTD.decompose(a: a, b: b.scalars, perturbation: Tensor(shape: [8, 8], repeating: 0))
        let sorted = d.eigenvalues.sorted { $0.real > $1.real }
        for (k, l) in sorted.enumerated() {
            #expect(Swift.abs(l.real + Double(k + 1)) <= 1e-9 && Swift.abs(l.imaginary) <= 1e-9)
        }
        #expect(d.perturbationRatio == 0 && d.maxRealPart < 0)
    }

    @Test(
        "golden ptd_legs_32: eigenvalues, diagonalised and direct transfer functions",
        .enabled(if: Golden.isAvailable, Golden.skipMessage))
    func golden() throws {
        let f = try SafeTensorsFile(path: Golden.path("ptd_legs_32.safetensors"))
        let a = try f.tensor("A", as: Double.self)
        let b = try f.tensor("B", as: Double.self).scalars
        let c = try f.tensor("C", as: Double.self).scalars
        let omega = try f.tensor("omega", as: Double.self).scalars
        let d = try PTD.decompose(a: a, b: b, perturbation: f.tensor("E", as: Double.self))
        let ref = zip(
            try f.tensor("lambda_re", as: Double.self).scalars, try f.tensor("lambda_im", as: Double.self).scalars
        )
        .map { Complex($0, $1) }
        let mine = d.eigenvalues.sorted { ($0.real, $0.imaginary) < ($1.real, $1.imaginary) }
        let scale = ref.map(\.length).max()!
        #expect(zip(mine, ref).map { ($0 - $1).length }.max()! / scale <= 1e-8)
        let gp = zip(
            try f.tensor("G_perturbed_re", as: Double.self).scalars,
            try f.tensor("G_perturbed_im", as: Double.self).scalars
        )
        .map { Complex($0, $1) }
        let ct = d.projectedC(c)
        let gScale = gp.map(\.length).max()!
        #expect(zip(omega, gp).map { (d.transfer(projectedC: ct, omega: $0) - $1).length }.max()! / gScale <= 1e-8)
        let gh = zip(
            try f.tensor("G_hippo_re", as: Double.self).scalars, try f.tensor("G_hippo_im", as: Double.self).scalars
        )
        .map { Complex($0, $1) }
        let x = try PTD.resolventVectors(a: a, b: b, omegas: omega)
        let direct = x.map { v in zip(v, c).reduce(Complex<Double>.zero) { $0 + $1.0.multiplied(by: $1.1) } }
        #expect(zip(direct, gh).map { ($0 - $1).length }.max()! / gh.map(\.length).max()! <= 1e-8)
        let cond = try #require(f.metadataNumber("eigenvector_condition"))
        #expect(Swift.abs(d.eigenvectorCondition - cond) <= 1e-6 * cond)
    }

    @Test("the analytic gradient of cond(V)² + λ‖E‖_F + stability term matches central differences")
    func gradient() throws {
        let (a, _) = try HiPPO.transition(.legs, n: 6, as: Double.self)
        let e = try PTD.randomPerturbation(a: a, ratio: 0.05, seed: 3)
        // Margin 10 puts every eigenvalue (≈ −1 … −6) inside the stability term.
        let (_, _, g) = try PTD.conditionObjective(
            a: a, perturbation: e, penalty: 0.7, stabilityWeight: 0.3, stabilityMargin: 10)
        let grad = try #require(g)
        var r = SeededRandom(seed: 9)
        let dir: Tensor<Double> = r.normalTensor([6, 6])
        let h = 1e-6
        func f(_ t: Double) throws -> Double {
            var x = e
            for i in x.scalars.indices { x.scalars[i] += t * dir.scalars[i] }
            return try PTD.conditionObjective(
                a: a, perturbation: x, penalty: 0.7, stabilityWeight: 0.3, stabilityMargin: 10, gradient: false
            ).objective
        }
        let fd = (try f(h) - f(-h)) / (2 * h)
        let an = zip(grad.scalars, dir.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(Swift.abs(fd - an) <= 1e-5 * Swift.abs(an))
    }

    @Test("random perturbation has exactly the requested ratio; unstable eigenvalues can be reflected")
    func randomPerturbation() throws {
        let (a, b) = try HiPPO.transition(.legs, n: 24, as: Double.self)
        let e = try PTD.randomPerturbation(a: a, ratio: 0.1, seed: 1)
        let d = try PTD.decompose(a: a, b: b.scalars, perturbation: e)
        #expect(Swift.abs(d.perturbationRatio - 0.1) <= 1e-12)
        let s = try PTD.decompose(a: a, b: b.scalars, perturbation: e, stabilize: true)
        #expect(s.eigenvalues.allSatisfy { $0.real <= 0 } && s.maxRealPart == d.maxRealPart)
    }

    @Test("optimised perturbation at N = 16 beats S4D-LegS by 10× at cond ≤ 20, ratio ≤ 0.05")
    func optimised() throws {
        let n = 16
        let (a, bt) = try HiPPO.transition(.legs, n: n, as: Double.self)
        let b = bt.scalars
        let result = try PTD.optimizedPerturbation(a: a, b: b)
        let d = try PTD.decompose(a: a, b: b, perturbation: result.perturbation)
        #expect(d.eigenvectorCondition <= 20 && d.perturbationRatio <= 0.05 + 1e-12)
        #expect(result.history.last! <= result.history.first!)
        let omegas = PTD.frequencyGrid()
        let x = try PTD.resolventVectors(a: a, b: b, omegas: omegas)
        let cs = PTD.randomUnitVectors(n: n, count: 5, seed: 1)
        let err = PTD.relativeTransferErrors(d, resolvents: x, omegas: omegas, outputs: cs).reduce(0, +) / 5
        let legs =
            PTD.relativeTransferErrors(try PTD.s4dLegS(n: n), resolvents: x, omegas: omegas, outputs: cs)
            .reduce(0, +) / 5
        #expect(err <= 0.6 && 10 * err <= legs)
    }

    @Test("bad inputs are typed errors")
    func badInputs() throws {
        let (a, b) = try HiPPO.transition(.legs, n: 4, as: Double.self)
        #expect(throws: PTD.Failure.self) { _ = try PTD.randomPerturbation(a: a, ratio: 0, seed: 0) }
        #expect(throws: PTD.Failure.self) { _ = try PTD.randomPerturbation(a: a, ratio: .nan, seed: 0) }
        #expect(throws: PTD.Failure.self) {
            _ = try PTD.decompose(a: a, b: [1, 2], perturbation: Tensor(shape: [4, 4], repeating: 0))
        }
        var e = Tensor<Double>(shape: [4, 4], repeating: 0)
        e.scalars[5] = .infinity
        #expect(throws: PTD.Failure.self) { _ = try PTD.decompose(a: a, b: b.scalars, perturbation: e) }
        var o = PTDOptimizationOptions()
        o.maxRatio = -1
        #expect(throws: PTD.Failure.self) { _ = try PTD.optimizedPerturbation(a: a, b: b.scalars, options: o) }
    }
}
