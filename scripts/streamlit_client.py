"""A browser tab without the browser: Streamlit's websocket protocol, as the 1.67 frontend speaks it.

The frontend opens ws://HOST/_stcore/stream with the subprotocol "streamlit" and then only
sends BackMsg protobufs; the server answers with ForwardMsgs. What this client does, and
where the frontend does the same (static/js/index.*.js of the streamlit package):

- every run is a `rerun_script` BackMsg (a ClientState): the page's script hash, the
  query string the server last set (page_info_changed), the widget values, the hashes of
  the messages it has cached, and a fragment id for a fragment's rerun (sendRerunBackMsg);
- a page switch sends the new page's hash from the navigation message, without the old
  page's widgets (onPageChange);
- a widget is addressed by the id its delta carries, `$$ID-<hash>-<key>` for a keyed one;
  a value the user set is sent with every later rerun, a button's trigger once; a widget
  bound to the address puts its value in the query string (maybeSyncValueToUrl);
- an AutoRerun (a fragment with run_every) starts a timer that sends a rerun of that
  fragment with is_auto_rerun every `interval` seconds, whether or not a run is going
  (handleAutoRerun); StopAutoRerun, and the start of a full run, clear the timers;
- large messages arrive once and then as `ref_hash` references to the copy cached here.

It records what a person sees that a load test needs: the progress bars' texts, the
exceptions and errors shown, and when each full run finished. Synchronous; under Locust,
gevent makes the socket cooperative.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

CACHE_AGE = 2  # full runs a cached message outlives its last use (global.maxCachedMessageAge)


class ProtocolError(RuntimeError):
    """The server did not answer as a browser expects (a closed socket, a timeout)."""


class Session:
    """One tab: run pages, set widgets by their keys, press buttons, let fragments tick."""

    def __init__(self, url: str, timeout: float = 120.0):
        self.timeout = timeout
        ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        try:
            self.ws = websocket.create_connection(
                ws_url, subprotocols=["streamlit"], timeout=timeout
            )
        except (OSError, websocket.WebSocketException) as e:
            raise ProtocolError(f"cannot connect to {ws_url}: {e}") from e
        self.pages: dict[str, str] = {}  # page title -> page_script_hash (navigation)
        self.page_hash = ""
        self.query_string = ""
        self.widgets: dict[str, tuple[str, object]] = {}  # key -> (widget id, its proto)
        self.values: dict[str, WidgetState] = {}  # widget id -> what the user set
        self.timers: dict[str, list[float]] = {}  # fragment id -> [interval, next due]
        self.cache: dict[str, list] = {}  # message hash -> [ForwardMsg, full runs unused]
        self.progress: list[str] = []  # every progress bar text shown, in order
        self.exceptions: list[str] = []
        self.errors: list[str] = []  # st.error boxes
        self.full_runs = 0  # full script runs finished
        self.auto_reruns = 0  # fragment reruns the timers sent
        self.fragment_runs: list[tuple[float, int]] = []  # (seconds, bytes) of each finished
        self.ended_early = 0  # script runs that ended early for a rerun
        self.received_bytes = 0
        self._run_start = (0.0, 0)

    # --- what a person does -----------------------------------------------------------

    def open(self, url_path: str = "") -> float:
        """Load the app (or the page at this url path) as a new tab does; seconds to idle."""
        return self._run(ClientState(page_name=url_path))

    def switch(self, title: str) -> float:
        """Click a page in the sidebar; seconds until its script run finished."""
        self.values.clear()  # the old page's widgets are not sent (the sidebar has none)
        self.widgets.clear()
        self.query_string = ""  # the new page's bound widgets set theirs
        self.page_hash = self.pages[title]
        return self._run(ClientState(page_script_hash=self.page_hash))

    def set(self, key: str, value) -> float:
        """Give the widget with this key a value, as typing or dragging it does."""
        widget_id, proto = self.widgets[key]
        state = WidgetState(id=widget_id)
        if isinstance(proto, NumberInput):
            if proto.data_type == NumberInput.INT:
                state.int_value = int(value)
            else:
                state.double_value = float(value)
        elif isinstance(value, list):  # sliders: st.slider numbers, select_slider labels
            if value and isinstance(value[0], str):
                state.string_array_value.data.extend(value)
            else:
                state.double_array_value.data.extend(value)
        else:
            raise TypeError(f"no widget value for {key!r} = {value!r}")
        self.values[widget_id] = state
        if getattr(proto, "query_param_key", ""):  # bind="query-params": the address follows
            params = dict(parse_qsl(self.query_string, keep_blank_values=True))
            params[proto.query_param_key] = ",".join(
                map(str, value if isinstance(value, list) else [value])
            )
            self.query_string = urlencode(params)
        return self._run(ClientState(page_script_hash=self.page_hash))

    def click(self, key: str) -> float:
        """Press the button with this key."""
        widget_id, _ = self.widgets[key]
        trigger = WidgetState(id=widget_id, trigger_value=True)
        return self._run(ClientState(page_script_hash=self.page_hash), trigger)

    def watch(self, until, timeout: float) -> bool:
        """Keep the tab open (its fragments ticking) until `until()` or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() >= deadline:
                return False
            self._receive(deadline)
        return True

    def close(self) -> None:
        self.ws.close()

    # --- the protocol -----------------------------------------------------------------

    def _run(self, client: ClientState, trigger: WidgetState | None = None) -> float:
        """Send a full rerun and wait for its script_finished; seconds it took."""
        t0 = time.monotonic()
        self._send(client, trigger)
        done = self.full_runs + 1
        self.watch(lambda: self.full_runs >= done, self.timeout) or self._timeout(client)
        return time.monotonic() - t0

    def _timeout(self, client: ClientState):
        raise ProtocolError(f"no script_finished within {self.timeout:.0f} s ({client})")

    def _send(self, client: ClientState, trigger=None, fragment_id="") -> None:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.CopyFrom(client)
        rerun.query_string = self.query_string
        rerun.widget_states.widgets.extend(self.values.values())
        if trigger is not None:
            rerun.widget_states.widgets.append(trigger)
        rerun.cached_message_hashes.extend(self.cache)
        if fragment_id:
            rerun.fragment_id, rerun.is_auto_rerun = fragment_id, True
        try:
            self.ws.send_binary(msg.SerializeToString())
        except (OSError, websocket.WebSocketException) as e:
            raise ProtocolError(f"send failed: {e}") from e

    def _receive(self, deadline: float) -> None:
        """Handle one message, or fire the fragment timers that fall due before it comes."""
        now = time.monotonic()
        due = min((t[1] for t in self.timers.values()), default=deadline)
        if due <= now:
            for fragment_id, timer in self.timers.items():
                if timer[1] <= now:
                    timer[1] = now + timer[0]
                    self.auto_reruns += 1
                    self._send(ClientState(page_script_hash=self.page_hash), None, fragment_id)
            return
        self.ws.settimeout(max(0.001, min(due, deadline) - now))
        try:
            data = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        except (OSError, websocket.WebSocketException) as e:
            raise ProtocolError(f"connection lost: {e}") from e
        if not data:
            raise ProtocolError("the server closed the connection")
        self.received_bytes += len(data)
        msg = ForwardMsg()
        msg.ParseFromString(data)
        self._handle(msg)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self.cache[msg.ref_hash]
            cached[1] = 0
            full = ForwardMsg()
            full.CopyFrom(cached[0])
            full.metadata.CopyFrom(msg.metadata)
            msg, kind = full, full.WhichOneof("type")
        elif msg.metadata.cacheable:
            self.cache[msg.hash] = [msg, 0]
        if kind == "new_session":
            self._run_start = (time.monotonic(), self.received_bytes)
            if not msg.metadata.run.fragment_ids:
                self.timers.clear()  # a full run starts: the frontend's cleanupAutoReruns
        elif kind == "navigation":
            self.pages = {p.page_name: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            timer = self.timers.get(msg.auto_rerun.fragment_id)
            if timer is None or timer[0] != msg.auto_rerun.interval:
                interval = msg.auto_rerun.interval
                self.timers[msg.auto_rerun.fragment_id] = [interval, time.monotonic() + interval]
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment_id, None)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "script_finished" and msg.script_finished in (
            ForwardMsg.FINISHED_SUCCESSFULLY,
            ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
        ):
            self.full_runs += 1
            for entry in list(self.cache.values()):
                entry[1] += 1
            self.cache = {h: e for h, e in self.cache.items() if e[1] <= CACHE_AGE}
        elif (
            kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN
        ):
            self.ended_early += 1
        elif kind == "script_finished":  # a fragment's run
            t0, received = self._run_start
            self.fragment_runs.append((time.monotonic() - t0, self.received_bytes - received))

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        if kind == "progress":
            self.progress.append(proto.text)
        elif kind == "exception":
            self.exceptions.append(f"{proto.type}: {proto.message}")
        elif kind == "alert" and proto.format == proto.ERROR:
            self.errors.append(proto.body)
        widget_id = getattr(proto, "id", "")
        if widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
            self.widgets[widget_id.split("-", 2)[2]] = (widget_id, proto)
