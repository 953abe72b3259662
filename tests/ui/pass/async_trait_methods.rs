//! `#[async_trait]` methods: the macro instruments the boxed future, whichever attribute
//! comes first on the method, in impls and in trait default methods.
use async_trait::async_trait;
use vk_monitor::monitored;

#[async_trait]
pub trait Speech {
    async fn transcribe(&self, audio: &[u8]) -> Result<String, String>;

    #[monitored]
    async fn language(&self) -> &'static str {
        "en"
    }
}

pub struct Provider;

#[async_trait]
impl Speech for Provider {
    #[monitored(op = "http.client")]
    #[allow(clippy::needless_lifetimes)]
    async fn transcribe(&self, audio: &[u8]) -> Result<String, String> {
        if audio.is_empty() {
            return Err("empty audio".into());
        }
        Ok(format!("{} bytes", audio.len()))
    }
}

#[async_trait(?Send)]
pub trait LocalSpeech {
    async fn transcribe(&self, audio: &[u8]) -> Result<String, String>;
}

pub struct Local;

#[async_trait(?Send)]
impl LocalSpeech for Local {
    #[allow(unused_mut)]
    #[monitored]
    async fn transcribe(&self, audio: &[u8]) -> Result<String, String> {
        Ok(String::from_utf8_lossy(audio).into_owned())
    }
}

fn main() {
    let provider: Box<dyn Speech + Send + Sync> = Box::new(Provider);
    drop(provider.transcribe(b"abc"));
    drop(provider.language());
    drop(Local.transcribe(b"abc"));
}
