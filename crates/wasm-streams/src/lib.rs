//! A small stand-in for the `wasm-streams` crate, patched in by the workspace.
//!
//! Leptos always compiles its `server_fn` client, which converts between Rust
//! streams and the browser's `ReadableStream` through `wasm-streams`. That crate
//! exports three JavaScript classes (`IntoUnderlyingSource`, `…ByteSource`,
//! `…Sink`), and exported classes are kept in every bundle whether called or not:
//! about 5 KB of wasm and 3 KB of glue on each phone. Daohu calls no server
//! functions, but the two conversions `server_fn` uses are still implemented here,
//! with plain closures instead of exported classes, so the code stays correct if
//! one is ever called.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_util::future::poll_fn;
use futures_util::{FutureExt, Stream};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// The browser's streams, as `wasm_streams::readable` names them.
pub mod readable {
    pub use crate::{IntoStream, ReadableStream};
    /// The raw browser types.
    pub mod sys {
        pub use web_sys::ReadableStream;
    }
}

/// A browser `ReadableStream`, convertible to and from a Rust [`Stream`].
#[derive(Debug)]
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

type BoxedStream = Pin<Box<dyn Stream<Item = Result<JsValue, JsValue>>>>;

impl ReadableStream {
    /// Wraps a stream the browser made.
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        ReadableStream { raw }
    }

    /// A browser stream that pulls each chunk from `stream` when the reader asks
    /// (high-water mark 0: nothing is buffered ahead of the reader).
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let stream: Rc<RefCell<BoxedStream>> = Rc::new(RefCell::new(Box::pin(stream)));
        let pull =
            Closure::<dyn FnMut(web_sys::ReadableStreamDefaultController) -> js_sys::Promise>::new(
                move |controller: web_sys::ReadableStreamDefaultController| {
                    let stream = stream.clone();
                    future_to_promise(async move {
                        match poll_fn(|cx| stream.borrow_mut().as_mut().poll_next(cx)).await {
                            Some(Ok(chunk)) => controller.enqueue_with_chunk(&chunk)?,
                            Some(Err(e)) => return Err(e),
                            None => controller.close()?,
                        }
                        Ok(JsValue::UNDEFINED)
                    })
                },
            );
        let source = web_sys::UnderlyingSource::new();
        // The closure belongs to the JavaScript function from here on.
        source.set_pull(&pull.into_js_value().unchecked_into());
        let strategy = web_sys::QueuingStrategy::new();
        strategy.set_high_water_mark(0.0);
        let raw =
            web_sys::ReadableStream::new_with_underlying_source_and_strategy(&source, &strategy)
                .expect_throw("ReadableStream");
        ReadableStream { raw }
    }

    /// The browser's stream.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// Reads the stream chunk by chunk; the reader is released when done or dropped.
    pub fn into_stream(self) -> IntoStream<'static> {
        let reader = self
            .raw
            .get_reader()
            .unchecked_into::<web_sys::ReadableStreamDefaultReader>();
        IntoStream {
            reader: Some(reader),
            read: None,
            _life: std::marker::PhantomData,
        }
    }
}

/// A [`Stream`] over a browser stream's chunks.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct IntoStream<'reader> {
    reader: Option<web_sys::ReadableStreamDefaultReader>,
    read: Option<JsFuture>,
    _life: std::marker::PhantomData<&'reader ()>,
}

impl Stream for IntoStream<'_> {
    type Item = Result<JsValue, JsValue>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(reader) = self.reader.clone() else {
            return Poll::Ready(None);
        };
        let read = self
            .read
            .get_or_insert_with(|| JsFuture::from(reader.read()));
        let Poll::Ready(result) = read.poll_unpin(cx) else {
            return Poll::Pending;
        };
        self.read = None;
        Poll::Ready(match result {
            Ok(value) => {
                let result = value.unchecked_into::<web_sys::ReadableStreamReadResult>();
                if result.get_done().unwrap_or_default() {
                    self.reader = None;
                    None
                } else {
                    Some(Ok(result.get_value()))
                }
            }
            Err(e) => {
                self.reader = None;
                Some(Err(e))
            }
        })
    }
}

impl Drop for IntoStream<'_> {
    fn drop(&mut self) {
        // Tell the source nobody reads any more (as wasm-streams does); a refused
        // cancel has no one left to report to.
        if let Some(reader) = self.reader.take() {
            let ignore = Closure::once(|_: JsValue| {});
            let _ = reader.cancel().catch(&ignore);
            ignore.forget();
        }
    }
}
