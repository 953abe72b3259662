//! Methods in inherent and trait impls, with every receiver.
use std::sync::Arc;

use vk_monitor::monitored;

pub struct Account {
    balance: i64,
}

impl Account {
    #[monitored]
    pub fn new() -> Self {
        Account { balance: 0 }
    }

    #[monitored]
    pub fn balance(&self) -> i64 {
        self.balance
    }

    #[monitored]
    pub fn deposit(&mut self, amount: i64) -> Result<i64, String> {
        if amount <= 0 {
            return Err(format!("invalid amount {amount}"));
        }
        self.balance += amount;
        Ok(self.balance)
    }

    #[monitored]
    pub fn close(self) -> i64 {
        self.balance
    }

    #[monitored]
    pub async fn shared(self: Arc<Self>) -> i64 {
        self.balance
    }

    #[monitored]
    pub async fn refresh(&mut self) -> &mut Self {
        self
    }
}

pub trait Ledger {
    fn total(&self) -> i64;
    fn describe(&self) -> String {
        format!("total {}", self.total())
    }
}

impl Ledger for Account {
    #[monitored]
    fn total(&self) -> i64 {
        self.balance
    }

    #[monitored(name = "ledger_describe")]
    fn describe(&self) -> String {
        format!("account with {}", self.balance)
    }
}

fn main() {
    let mut account = Account::new();
    let _ = account.deposit(5);
    let _ = account.balance();
    let _ = account.total();
    let _ = account.describe();
    let _ = account.close();
    drop(Arc::new(Account::new()).shared());
}
