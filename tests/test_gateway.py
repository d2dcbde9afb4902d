"""
The gateway service behind its three ports, on the fake counter, with a
fake clock and StringTransport: every command as a client sees it, without
sockets or waiting.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from ofx.errors import unavailable
from ofx.store.journal import Commit
from tests.harness import Gateway
from tests.keys import CODEC, SECRET


class QuotePortTests(TestCase):
    def setUp(self) -> None:
        self.gw = Gateway(self)

    def test_subscribe_then_quote(self) -> None:
        """After subscribing and one snapshot interval, 100001 answers the snapshot with stat 200."""
        answer = self.gw.ask("quote", 110001, [{"Code": "600000", "Market": "SH"}])
        self.assertEqual(answer["stat"], 200)
        not_yet = self.gw.ask("quote", 100001, {"code": "600000", "market": "SH"})
        self.assertEqual(not_yet["stat"], 404)
        self.assertIn("110001", not_yet["error"])
        self.gw.tick()
        quote = self.gw.ask("quote", 100001, {"code": "600000", "market": "SH"})
        self.assertEqual((quote["stat"], quote["ticker"], quote["exchange_id"]), (200, "600000", 1))

    def test_quote_encoded_once_per_snapshot(self) -> None:
        """
        Every poll of a stock between two snapshots gets the same answer,
        encoded once; the next snapshot gives the next answer.
        """
        stock = {"code": "600000", "market": "SH"}
        self.gw.ask("quote", 110001, [stock])
        self.gw.tick()
        encoded: list[object] = []
        encode = CODEC.encode_answer
        self.patch(CODEC, "encode_answer", lambda answer: encoded.append(answer) or encode(answer))
        polls = [self.gw.ask("quote", 100001, stock) for _ in range(5)]
        self.assertEqual(len(encoded), 1)
        self.assertTrue(all(poll == polls[0] for poll in polls))
        self.assertEqual(polls[0], {**self.gw.backend.snapshot((1, "600000")), "stat": 200})
        self.gw.tick()
        later = self.gw.ask("quote", 100001, stock)
        self.assertEqual(len(encoded), 2)
        self.assertGreater(later["data_time"], polls[0]["data_time"])
        self.assertEqual(later, {**self.gw.backend.snapshot((1, "600000")), "stat": 200})

    def test_day_of_quotes_oldest_first(self) -> None:
        """100002 answers every snapshot of the day for the stock, oldest first."""
        self.gw.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        self.gw.clock.advance(0)
        before = len(self.gw.ask("quote", 100002, {"code": "600000", "market": "SH"}))
        for _ in range(4):
            self.gw.tick()
        day = self.gw.ask("quote", 100002, {"code": "600000", "market": "SH"})
        self.assertEqual(len(day), before + 4)
        times = [q["data_time"] for q in day]
        self.assertEqual(times, sorted(times))

    def test_latest_for_list(self) -> None:
        """100003 answers the latest snapshot of each listed stock that has one."""
        self.gw.ask("quote", 110001, [{"code": "600000", "market": "SH"}, {"code": "000001", "market": "SZ"}])
        self.gw.tick()
        self.gw.tick()
        latest = self.gw.ask("quote", 100003, [{"code": "600000", "market": "SH"}, {"code": "000001", "market": "SZ"}])
        self.assertEqual([q["ticker"] for q in latest], ["600000", "000001"])
        day = self.gw.ask("quote", 100002, {"code": "000001", "market": "SZ"})
        self.assertEqual(latest[1], day[-1])

    def test_one_counter_subscription_per_stock(self) -> None:
        """However many clients subscribe to a stock, the counter sees it once."""
        for _ in range(3):
            self.gw.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        self.assertEqual(self.gw.backend.subscribed, [(1, "600000")])

    def test_reqids_grow(self) -> None:
        """Each accepted request gets a larger reqid than the one before."""
        ids = [self.gw.ask("quote", 110001, {"code": "600000", "market": "SH"})["reqid"] for _ in range(3)]
        ids.append(self.gw.ask("trade", 210001)["reqid"])
        self.assertEqual(ids, sorted(set(ids)))

    def test_market_is_sh_or_sz(self) -> None:
        """A market other than SH or SZ is 422, naming the field."""
        answer = self.gw.ask("quote", 100001, {"code": "600000", "market": "HK"})
        self.assertEqual(answer["stat"], 422)
        self.assertIn("market", answer["error"])

    def test_code_is_exactly_six_ascii_digits(self) -> None:
        """A code or ticker with a trailing newline or non-ASCII digits is 422, not taken as the stock."""
        for code in ("600000\n", "６０００００"):
            answer = self.gw.ask("quote", 100001, {"code": code, "market": "SH"})
            self.assertEqual(answer["stat"], 422, code)
            self.assertIn("code", answer["error"])
            order = {"ticker": code, "market": "SH", "price": 10, "quantity": 100, "side": 1}
            answer = self.gw.ask("trade", 210005, order)
            self.assertEqual(answer["stat"], 422, code)
            self.assertIn("ticker", answer["error"])

    def test_counter_down_is_503(self) -> None:
        """With the counter's sessions down, subscribing is 503 but quotes already held are served."""
        self.gw.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        self.gw.tick()
        self.gw.backend.stop()
        answer = self.gw.ask("quote", 110001, [{"code": "000001", "market": "SZ"}])
        self.assertEqual(answer["stat"], 503)
        self.assertEqual(self.gw.ask("quote", 100001, {"code": "600000", "market": "SH"})["stat"], 200)
        self.assertEqual(self.gw.ask("trade", 210001)["stat"], 503)

    @given(st.binary(min_size=1, max_size=200).filter(lambda b: b"\n" not in b))
    def test_random_bytes_get_400(self, junk: bytes) -> None:
        """Random bytes on the quote port get 400, and the port still answers afterwards."""
        answer = _raw(self.gw, junk)
        self.assertEqual(answer["stat"], 400)
        self.assertEqual(self.gw.ask("quote", 100003, [{"code": "600000", "market": "SH"}]), [])


def _raw(gw: Gateway, line: bytes) -> Any:
    gw.ask("quote", 100003, [{"code": "600000", "market": "SH"}])
    protocol, transport = gw.connections["quote"]
    transport.clear()
    protocol.dataReceived(line + b"\r\n")
    (answer,) = transport.value().split(b"\r\n")[:-1]
    return CODEC.decode_answer(answer)


class TradePortTests(TestCase):
    def setUp(self) -> None:
        self.gw = Gateway(self)
        self.gw.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        self.gw.tick()
        self.quote = self.gw.ask("quote", 100001, {"code": "600000", "market": "SH"})

    def buy(self, price: float, quantity: int = 100) -> Any:
        return self.gw.ask(
            "trade", 210005,
            {"ticker": "600000", "market": "SH", "price": price, "quantity": quantity, "side": 1, "price_type": 1},
        )  # fmt: skip

    def test_authcode_required(self) -> None:
        """Without an authcode, or with a wrong one, the trade port answers 401."""
        self.assertEqual(self.gw.ask("trade", 200003, authcode=None)["stat"], 401)
        self.assertEqual(self.gw.ask("trade", 200003, authcode="0" * 32)["stat"], 401)

    def test_insert_answers_order_xtp_id(self) -> None:
        """210005 answers stat 200, a reqid and the counter's order_xtp_id; 200001 shows the order."""
        placed = self.buy(self.quote["ask"][0])
        self.assertEqual(placed["stat"], 200)
        self.assertIsInstance(placed["order_xtp_id"], int)
        self.gw.clock.advance(0)
        events = self.gw.ask("trade", 200001, {"code": "600000", "market": "SH"})
        self.assertEqual(events[-1]["order_xtp_id"], placed["order_xtp_id"])
        trades = self.gw.ask("trade", 200002, {"code": "600000", "market": "SH"})
        self.assertEqual(sum(t["quantity"] for t in trades), 100)

    def test_journal_failing_after_the_counter_took_the_order(self) -> None:
        """
        If the journal cannot record an order the counter already took, the
        answer is 503, not an acknowledgement, and it names the order's id so
        the client knows it may be live.
        """
        append = self.gw.journal.append

        def failing(kind: str, *args: Any, **kwargs: Any) -> Any:
            if kind == "order_sent":
                lost = Commit()
                lost.settle(unavailable("the journal writer ended"))
                return lost
            return append(kind, *args, **kwargs)

        self.patch(self.gw.journal, "append", failing)
        answer = self.buy(self.quote["bid"][0])
        self.assertEqual(answer["stat"], 503)
        self.gw.clock.advance(0)
        events = self.gw.ask("trade", 200001, {"code": "600000", "market": "SH"})
        self.assertIn(f"order_xtp_id={events[-1]['order_xtp_id']}", answer["error"])
        self.assertIn("could not record it: the journal writer ended", answer["error"])

    def test_insert_logged_with_user_and_no_secrets(self) -> None:
        """An order is logged once with its user; neither the password, the key nor the authcode appear."""
        with capturedLogs() as events:
            self.buy(self.quote["bid"][0])
            self.gw.ask("login", 1, {"username": "alice", "password": "s3cret-pw"})
        lines = [formatEvent(e) for e in events]
        orders = [line for line in lines if line.startswith("order user=alice")]
        self.assertEqual(len(orders), 1, lines)
        text = "\n".join(lines)
        for secret in ("s3cret-pw", SECRET, self.gw.authcode):
            self.assertNotIn(secret, text)

    def test_unknown_field_is_422(self) -> None:
        """A misspelt order field is 422 naming it, so a typo never becomes a default."""
        answer = self.gw.ask("trade", 210005, {"ticker": "600000", "market": 2, "price": 10, "qty": 100, "side": 1})
        self.assertEqual(answer["stat"], 422)
        self.assertIn("qty", answer["error"])

    def test_market_numbers(self) -> None:
        """market 2 is XTP_MKT_SH_A: an order for 600000 with market 2 is the same as "SH"."""
        placed = self.gw.ask(
            "trade", 210005,
            {"ticker": "600000", "market": 2, "price": self.quote["bid"][0], "quantity": 100, "side": 1},
        )  # fmt: skip
        self.gw.clock.advance(0)
        events = self.gw.ask("trade", 200001, {"code": "600000", "market": "SH"})
        self.assertEqual(events[-1]["order_xtp_id"], placed["order_xtp_id"])
        self.assertEqual(events[-1]["market"], 2)

    def test_query_answers_by_reqid(self) -> None:
        """
        A positions request is answered later: 200004 with its reqid is 404
        until the counter answered, then the records; without reqid every
        answer of the day.
        """
        first = self.gw.ask("trade", 210002)
        pending = self.gw.ask("trade", 200004, {"reqid": first["reqid"]})
        self.assertEqual(pending["stat"], 404)
        self.assertIn("not answered", pending["error"])
        self.gw.clock.advance(0)
        positions = self.gw.ask("trade", 200004, {"reqid": first["reqid"]})
        self.assertEqual([(p["ticker"], p["total_qty"]) for p in positions], [("600000", 1000)])
        second = self.gw.ask("trade", 210002)
        self.gw.clock.advance(0)
        self.assertEqual(len(self.gw.ask("trade", 200004)), 2)
        self.assertEqual(len(self.gw.ask("trade", 200004, {"ReqId": second["reqid"]})), 1)
        wrong_kind = self.gw.ask("trade", 200005, {"reqid": first["reqid"]})
        self.assertEqual(wrong_kind["stat"], 404)

    def test_asset(self) -> None:
        """200003 is 404 until an asset request was answered, then the latest asset with stat 200."""
        self.assertEqual(self.gw.ask("trade", 200003)["stat"], 404)
        self.gw.ask("trade", 210001)
        self.gw.clock.advance(0)
        asset = self.gw.ask("trade", 200003)
        self.assertEqual(asset["stat"], 200)
        self.assertIn("buying_power", asset)

    def test_cancel(self) -> None:
        """210006 answers the cancel id; the order ends cancelled in 200001."""
        placed = self.buy(round(self.quote["bid"][0] - 0.05, 2))
        self.gw.clock.advance(0)
        cancelled = self.gw.ask("trade", 210006, {"order_xtp_id": str(placed["order_xtp_id"])})
        self.assertEqual(cancelled["stat"], 200)
        self.assertIn("order_cancel_xtp_id", cancelled)
        self.gw.clock.advance(0)
        events = self.gw.ask("trade", 200001, {"code": "600000", "market": "SH"})
        self.assertEqual(events[-1]["order_status"], 5)

    def test_pipelined_mixed_answers_in_order(self) -> None:
        """Many requests written at once are answered one line each, in order."""
        self.gw.ask("trade", 200003)
        protocol, transport = self.gw.connections["trade"]
        transport.clear()
        lines = b"".join(
            CODEC.encode_request({"cmd": cmd, "authcode": self.gw.authcode}) + b"\r\n"
            for cmd in (210001, 999999, 200003, 210002)
        )
        protocol.dataReceived(lines)
        answers = [CODEC.decode_answer(line) for line in transport.value().split(b"\r\n")[:-1]]
        self.assertEqual([a["stat"] for a in answers], [200, 404, 404, 200])
        self.assertLess(answers[0]["reqid"], answers[3]["reqid"])

