import EVCore
import XCTest

final class ClientIDTests: XCTestCase {
    func testClientIDsAreCFollowedByDigits() {
        for id in ["c0", "c1", "c42", "c0123456789"] { XCTAssertTrue(isClientID(id), id) }
        for id in ["", "c", "n1", "C1", "c1x", "cx1", "c-1", "c 1", "seq-kv", "lin-kv", "c１"] {
            XCTAssertFalse(isClientID(id), id)
        }
    }

    func testMessageAndRequestRefAgreeWithIsClientID() {
        for id in ["c7", "n0", "coordinator", "seq-kv"] {
            XCTAssertEqual(RequestRef(src: id, msgID: 1, receivedAt: 0).isFromClient, isClientID(id), id)
        }
    }
}
