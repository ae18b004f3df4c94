import XCTest
@testable import Worker

/// A streamed input leaves the worker's staging when the last task it was sent for has answered, not before.
final class StreamedInputsTests: XCTestCase {
    func testAFileSentForTwoTasksStaysUntilBothHaveAnswered() {
        var inputs = StreamedInputs()
        inputs.arrived("calibration/layer_0/h_attn_in_0.st", for: "Q3.0")
        inputs.arrived("calibration/layer_0/h_attn_in_1.st", for: "Q3.0")
        inputs.arrived("calibration/layer_0/h_attn_in_0.st", for: "Q3.1")
        XCTAssertEqual(inputs.answered("Q3.0"), ["calibration/layer_0/h_attn_in_1.st"])
        XCTAssertEqual(inputs.answered("Q3.1"), ["calibration/layer_0/h_attn_in_0.st"])
        XCTAssertEqual(inputs.answered("Q3.1"), [], "an answer counted once")
        XCTAssertEqual(inputs.answered("A7"), [], "a task that was sent nothing")
    }
}
