import LRNNLinearAlgebra

extension PLSTM2D {
    /// The validated sizes of a pLSTM 2-D call.
    ///
    /// Checks, in order: the ranks and shapes of `q`, `k`, `v`, `T_rl`, `M_l`, then every other tensor
    /// against the sizes read from those, the boundary states (present together), `scale`, then the
    /// finiteness of every tensor.
    struct Problem<Scalar: LRNNScalar> {
        let batch: Int
        let width: Int
        let height: Int
        let heads: Int
        let cell: PLSTMCell<Scalar>
        let scale: Scalar

        init(_ x: Inputs<Scalar>, scale: Scalar?) throws(KernelError) {
            guard x.q.rank == 6, x.q.shape[4] >= 1, x.q.shape[5] >= 1 else {
                throw .shapeMismatch(
                    tensor: "q", shape: x.q.shape, expected: "[B, X, Y, H, DK, JQ] with DK, JQ ≥ 1")
            }
            let grid = Array(x.q.shape[0..<4])
            let (dk, jq) = (x.q.shape[4], x.q.shape[5])
            let g = "\(grid.map(String.init).joined(separator: ", "))"
            guard x.k.rank == 6, Array(x.k.shape[0..<5]) == grid + [dk], x.k.shape[5] >= 1 else {
                throw .shapeMismatch(tensor: "k", shape: x.k.shape, expected: "[\(g), \(dk), JK] with JK ≥ 1")
            }
            let jk = x.k.shape[5]
            guard x.v.rank == 6, Array(x.v.shape[0..<4]) == grid, x.v.shape[4] >= 1, x.v.shape[5] >= 1 else {
                throw .shapeMismatch(tensor: "v", shape: x.v.shape, expected: "[\(g), DV, JV] with DV, JV ≥ 1")
            }
            let (dv, jv) = (x.v.shape[4], x.v.shape[5])
            guard x.T_rl.rank == 6, Array(x.T_rl.shape[0..<4]) == grid, x.T_rl.shape[4] >= 1,
                x.T_rl.shape[5] == x.T_rl.shape[4]
            else {
                throw .shapeMismatch(tensor: "T_rl", shape: x.T_rl.shape, expected: "[\(g), JT, JT] with JT ≥ 1")
            }
            let jt = x.T_rl.shape[4]
            guard x.M_l.rank == 7, Array(x.M_l.shape[0..<4]) == grid, x.M_l.shape[4] >= 1, x.M_l.shape[5] == jq,
                x.M_l.shape[6] == jt
            else {
                throw .shapeMismatch(
                    tensor: "M_l", shape: x.M_l.shape, expected: "[\(g), JO, \(jq), \(jt)] with JO ≥ 1")
            }
            let jo = x.M_l.shape[4]
            let (b, xs, ys, h) = (grid[0], grid[1], grid[2], grid[3])
            try KernelError.requireShape(x.T_du, grid + [jt, jt], "T_du")
            if let t = x.T_ru { try KernelError.requireShape(t, grid + [jt, jt], "T_ru") }
            if let t = x.T_dl { try KernelError.requireShape(t, grid + [jt, jt], "T_dl") }
            try KernelError.requireShape(x.S_r, grid + [jt, jk, jv], "S_r")
            try KernelError.requireShape(x.S_d, grid + [jt, jk, jv], "S_d")
            try KernelError.requireShape(x.M_u, grid + [jo, jq, jt], "M_u")
            try KernelError.requireShape(x.D, grid + [jo, jq, jk, jv], "D")
            switch (x.C_left, x.C_top) {
            case let (left?, top?):
                try KernelError.requireShape(left, [b, ys, h, dk, dv, jt], "C_left")
                try KernelError.requireShape(top, [b, xs, h, dk, dv, jt], "C_top")
            case (nil, nil): break
            case (nil, _?):
                throw .invalidArgument(
                    name: "C_left", reason: "C_left and C_top are present together; C_left is absent")
            case (_?, nil):
                throw .invalidArgument(name: "C_top", reason: "C_left and C_top are present together; C_top is absent")
            }
            let sc = scale ?? 1 / Scalar(dk).squareRoot()
            guard sc.isFinite else { throw .invalidArgument(name: "scale", reason: "must be finite, got \(sc)") }
            var named: [(Tensor<Scalar>, String)] = [
                (x.q, "q"), (x.k, "k"), (x.v, "v"), (x.S_r, "S_r"), (x.S_d, "S_d"), (x.T_rl, "T_rl"),
                (x.T_du, "T_du"),
            ]
            if let t = x.T_ru { named.append((t, "T_ru")) }
            if let t = x.T_dl { named.append((t, "T_dl")) }
            named += [(x.M_l, "M_l"), (x.M_u, "M_u"), (x.D, "D")]
            if let t = x.C_left { named.append((t, "C_left")) }
            if let t = x.C_top { named.append((t, "C_top")) }
            for (tensor, name) in named { try KernelError.requireFinite(tensor, name) }
            self.batch = b
            self.width = xs
            self.height = ys
            self.heads = h
            self.cell = PLSTMCell(dk: dk, dv: dv, jq: jq, jk: jk, jv: jv, jt: jt, jo: jo)
            self.scale = sc
        }

        /// The output shape `[B, X, Y, H, DV, JO]`.
        var outputShape: [Int] { [batch, width, height, heads, cell.dv, cell.jo] }
        /// The shape of `C_left` and `C_right`, `[B, Y, H, DK, DV, JT]`.
        var rowStateShape: [Int] { [batch, height, heads, cell.dk, cell.dv, cell.jt] }
        /// The shape of `C_top` and `C_bottom`, `[B, X, H, DK, DV, JT]`.
        var columnStateShape: [Int] { [batch, width, heads, cell.dk, cell.dv, cell.jt] }

        /// The (b, x, y, h) row of a `[B, X, Y, H, …]` tensor.
        func row(_ b: Int, _ x: Int, _ y: Int, _ h: Int) -> Int { ((b * width + x) * height + y) * heads + h }

        /// Validates the cotangents of a backward call.
        func validateCotangents(outputGradient: Tensor<Scalar>?, finalStateGradient: BoundaryStates<Scalar>?)
            throws(KernelError)
        {
            if let dy = outputGradient {
                try KernelError.requireShape(dy, outputShape, "outputGradient")
                try KernelError.requireFinite(dy, "outputGradient")
            }
            if let d = finalStateGradient {
                try KernelError.requireShape(d.right, rowStateShape, "finalStateGradient.right")
                try KernelError.requireShape(d.bottom, columnStateShape, "finalStateGradient.bottom")
                try KernelError.requireFinite(d.right, "finalStateGradient.right")
                try KernelError.requireFinite(d.bottom, "finalStateGradient.bottom")
            }
        }
    }
}
