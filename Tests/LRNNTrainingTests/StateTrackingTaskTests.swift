import LRNNLinearAlgebra
import LRNNTraining
import Testing

/// The task generators: vocabularies, determinism, and labels recomputed independently.
@Suite("State-tracking tasks")
struct StateTrackingTaskTests {
    static let allTasks: [StateTrackingTask] = [
        .parity, .modArithmetic(brackets: false), .modArithmetic(brackets: true), .cyclic(7), .s3, .s4, .a5, .s5,
        .s5Swaps,
    ]

    @Test func namesRoundTrip() {
        for task in Self.allTasks { #expect(StateTrackingTask(name: task.name) == task) }
        #expect(StateTrackingTask(name: "cyclic") == .cyclic(60))
        #expect(StateTrackingTask(name: "cyclic-1") == nil)
        #expect(StateTrackingTask(name: "s6") == nil)
    }

    @Test func vocabulariesClassesAndPad() {
        #expect(StateTrackingTask.parity.vocabulary == ["0", "1", "=", "<pad>"])
        #expect(StateTrackingTask.parity.classCount == 2)
        #expect(StateTrackingTask.parity.padToken == 3)
        #expect(StateTrackingTask.modArithmetic(brackets: false).vocabulary.count == 10)
        #expect(StateTrackingTask.modArithmetic(brackets: true).vocabulary[9...] == ["(", ")", "<pad>"])
        #expect(StateTrackingTask.modArithmetic(brackets: true).padToken == 11)
        #expect(StateTrackingTask.modArithmetic(brackets: false).classCount == 5)
        for (task, order) in [
            (StateTrackingTask.s3, 6), (.s4, 24), (.a5, 60), (.s5, 120), (.s5Swaps, 120), (.cyclic(7), 7),
        ] {
            #expect(task.classCount == order)
            #expect(task.vocabSize == order)
            #expect(task.vocabulary.count == order)
            #expect(task.padToken == nil)
        }
        for task in Self.allTasks { #expect(task.vocabulary.count == task.vocabSize) }
    }

    @Test func groupsAreTheirPermutations() {
        let a5 = PermutationGroup.alternating(5)
        #expect(a5.elements.allSatisfy(PermutationGroup.isEven))
        #expect(a5.identity == 0)
        let s3 = PermutationGroup.symmetric(3)
        #expect(s3.elements == [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
        // Non-abelian: (0 1) then (1 2) is not (1 2) then (0 1).
        #expect(s3.product(2, 1) != s3.product(1, 2))
        let swaps = StateTrackingTask.s5Swaps.inputTokens
        #expect(swaps.count == 10)
        let s5 = PermutationGroup.symmetric(5)
        for k in swaps { #expect(zip(s5.elements[k], 0..<5).filter { $0 != $1 }.count == 2) }
        let z = PermutationGroup.cyclic(6)
        #expect(z.product(4, 5) == 3)
    }

    @Test(arguments: allTasks)
    func sameSeedSameExamplesWhateverTheThreads(task: StateTrackingTask) throws {
        let data = StateTrackingData(task: task, lengths: try LengthRange(3, 20), seed: 11)
        let a = try data.batch(step: 5, size: 16)
        #expect(a == (try data.batch(step: 5, size: 16)))
        #expect(a != (try data.batch(step: 6, size: 16)))
        #expect(
            a != (try StateTrackingData(task: task, lengths: try LengthRange(3, 20), seed: 12).batch(step: 5, size: 16))
        )
        var parallel = [TrainingExample?](repeating: nil, count: 16)
        parallel.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            Threading.parallelFor(16, workers: 2) { i, _ in
                out[15 - i] = data.example(stream: 5, index: 15 - i, lengths: data.lengths).example
            }
        }
        #expect(parallel.map { $0! } == a)
        let set = data.evaluationSet(lengths: try LengthRange(20, 60), buckets: 4, perBucket: 3)
        #expect(set == data.evaluationSet(lengths: try LengthRange(20, 60), buckets: 4, perBucket: 3))
        #expect(set.count == 12)
        for e in set {
            #expect(e.bucket.lower <= e.length && e.length <= e.bucket.upper)
        }
    }

    @Test(arguments: allTasks)
    func inputsStayInTheVocabularyAndClassesBelowC(task: StateTrackingTask) throws {
        let data = StateTrackingData(task: task, lengths: try LengthRange(1, 30), seed: 3)
        for e in try data.batch(step: 0, size: 64) {
            #expect(e.inputIDs.allSatisfy { $0 >= 0 && $0 < task.vocabSize && $0 != task.padToken })
            #expect(e.labels.allSatisfy { $0 == CrossEntropy.ignoreIndex || ($0 >= 0 && $0 < task.classCount) })
            if task.supervisesEveryPosition {
                #expect(e.countedPositions == e.inputIDs.count)
            } else {
                #expect(e.countedPositions == 1)
                #expect(e.labels.last != CrossEntropy.ignoreIndex)
                #expect(e.inputIDs.last == task.answerToken)
            }
        }
    }

    @Test func parityLabelIsTheParityOfTheOnes() throws {
        let data = StateTrackingData(task: .parity, lengths: try LengthRange(3, 40), seed: 5)
        for e in try data.batch(step: 2, size: 200) {
            let bits = e.inputIDs.dropLast()
            #expect(bits.allSatisfy { $0 == 0 || $0 == 1 })
            #expect(bits.count >= 3 && bits.count <= 40)
            let ones = bits.filter { $0 == 1 }.count
            #expect(e.labels.last == (ones.isMultiple(of: 2) ? 0 : 1))
            #expect(e.labels.dropLast().allSatisfy { $0 == -100 })
        }
    }

    /// Shunting-yard to reverse Polish notation, evaluated over the integers and reduced mod 5
    /// only at the end: independent of the recursive-descent evaluator.
    static func shuntingYard(_ tokens: [Int]) -> Int {
        func precedence(_ op: Int) -> Int { op == ModularArithmetic.times ? 2 : 1 }
        var output: [Int] = []
        var stack: [Int] = []
        for t in tokens {
            switch t {
            case 0..<5: output.append(t)
            case ModularArithmetic.open: stack.append(t)
            case ModularArithmetic.close:
                while stack.last != ModularArithmetic.open { output.append(stack.removeLast()) }
                stack.removeLast()
            default:
                while let top = stack.last, top != ModularArithmetic.open, precedence(top) >= precedence(t) {
                    output.append(stack.removeLast())
                }
                stack.append(t)
            }
        }
        output += stack.reversed()
        var values: [Int] = []
        for t in output {
            if t < 5 {
                values.append(t)
                continue
            }
            let b = values.removeLast(), a = values.removeLast()
            values.append(t == ModularArithmetic.plus ? a + b : t == ModularArithmetic.minus ? a - b : a * b)
        }
        return ((values[0] % 5) + 5) % 5
    }

    static func ids(_ text: String) -> [Int] {
        text.map { c in
            switch c {
            case "+": ModularArithmetic.plus
            case "-": ModularArithmetic.minus
            case "*": ModularArithmetic.times
            case "(": ModularArithmetic.open
            case ")": ModularArithmetic.close
            default: Int(String(c))!
            }
        }
    }

    @Test func arithmeticHandCasesBindTimesTighter() {
        #expect(ModularArithmetic.evaluate(Self.ids("2+3*4")) == 4)  // 14
        #expect(ModularArithmetic.evaluate(Self.ids("(2+3)*4")) == 0)  // 20
        #expect(ModularArithmetic.evaluate(Self.ids("1-2-3")) == 1)  // -4, left to right
        #expect(ModularArithmetic.evaluate(Self.ids("3-2*4")) == 0)  // -5
        #expect(ModularArithmetic.evaluate(Self.ids("4*4*4-(1-3)")) == 1)  // 66
        #expect(ModularArithmetic.evaluate(Self.ids("((3))")) == 3)
    }

    @Test(arguments: [false, true])
    func arithmeticLabelsMatchAnIndependentEvaluator(brackets: Bool) throws {
        let data = StateTrackingData(
            task: .modArithmetic(brackets: brackets), lengths: try LengthRange(3, 41), seed: 9)
        var sawBracket = false
        for e in try data.batch(step: 1, size: 300) {
            let expression = Array(e.inputIDs.dropLast())
            #expect(expression.count % 2 == 1)
            var depth = 0
            for t in expression {
                if t == ModularArithmetic.open { depth += 1 }
                if t == ModularArithmetic.close { depth -= 1 }
                #expect(depth >= 0)
            }
            #expect(depth == 0)
            sawBracket = sawBracket || expression.contains(ModularArithmetic.open)
            #expect(e.labels.last == Self.shuntingYard(expression))
        }
        #expect(sawBracket == brackets)
    }

    @Test func bracketExpressionsHaveTheRequestedLength() {
        var g = SeededGenerator(seed: 1)
        for length in 1...60 {
            let e = ModularArithmetic.randomExpression(length: length, brackets: true, using: &g)
            #expect(e.count == ModularArithmetic.expressionLength(length))
            _ = ModularArithmetic.evaluate(e)
        }
    }

    @Test(arguments: [StateTrackingTask.cyclic(5), .s3, .s4, .a5, .s5, .s5Swaps])
    func groupLabelsAreRunningProductsOfThePermutations(task: StateTrackingTask) throws {
        let data = StateTrackingData(task: task, lengths: try LengthRange(1, 50), seed: 21)
        let elements = data.group!.elements
        for e in try data.batch(step: 3, size: 40) {
            var state = Array(0..<elements[0].count)
            for (t, x) in e.inputIDs.enumerated() {
                state = state.map { elements[x][$0] }  // apply x after the product so far
                #expect(e.labels[t] == elements.firstIndex(of: state))
            }
        }
    }

    @Test func lengthRangesParseAndSplit() throws {
        #expect(try LengthRange(parsing: "3-40") == LengthRange(3, 40))
        #expect(try LengthRange(parsing: "7") == LengthRange(7, 7))
        #expect(throws: TrainingError.invalidArgument(name: "lengths", reason: "40-3, expected 1 ≤ a ≤ b ≤ 1000000")) {
            try LengthRange(parsing: "40-3")
        }
        #expect(
            throws: TrainingError.invalidArgument(
                name: "lengths", reason: "'3:40', expected a-b with integers 1 ≤ a ≤ b")
        ) {
            try LengthRange(parsing: "3:40")
        }
        let buckets = try LengthRange(40, 256).buckets(maximum: 8)
        #expect(buckets.count == 8)
        #expect(buckets.first!.lower == 40 && buckets.last!.upper == 256)
        #expect(buckets.map(\.count).reduce(0, +) == 217)
        for (a, b) in zip(buckets, buckets.dropFirst()) { #expect(a.upper + 1 == b.lower) }
        #expect(try LengthRange(5, 6).buckets(maximum: 8) == [LengthRange(5, 5), LengthRange(6, 6)])
    }
}

@Suite struct StateTrackingGroupShortcutTests {
    /// Z_n's directly built table is the one composing its permutations gives.
    @Test(arguments: [1, 2, 7, 12, 60])
    func cyclicTableMatchesComposition(_ n: Int) {
        let composed = PermutationGroup(elements: (0..<n).map { k in (0..<n).map { ($0 + k) % n } })
        #expect(PermutationGroup.cyclic(n) == composed)
    }

    /// The vocabulary and class counts that skip building the group agree with the group.
    @Test func countsAgreeWithTheGroups() {
        for task in [StateTrackingTask.cyclic(9), .s3, .s4, .a5, .s5, .s5Swaps] {
            let g = task.group!
            #expect(task.vocabSize == g.order && task.classCount == g.order && task.vocabulary.count == g.order)
        }
    }
}
