//! `pi-ceiling`: what this stack can do at best on this machine, for `cargo xtask bench api`.
//! `GET /const` is an actix-web route returning a constant JSON body; `GET /pk/{id}` is the same
//! plus one primary-key select through pi-store's pool (the pool `pi-server` uses). The server is
//! set up like `pi-server` (allocator, runtime, workers, TCP_NODELAY) minus everything a real
//! route adds: middleware, authentication, services, serialisation of real data.

use std::process::ExitCode;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: pi_alloc::MiMalloc = pi_alloc::MiMalloc;

use actix_web::{App, HttpResponse, HttpServer, web};

async fn constant() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

async fn primary_key(db: web::Data<pi_store::Database>, id: web::Path<uuid::Uuid>) -> HttpResponse {
    match db.select_user_email(id.into_inner()).await {
        Ok(Some(email)) => HttpResponse::Ok().json(serde_json::json!({ "email": email })),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    pi_alloc::purge_freed_memory_at_once();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://pi.db?mode=rwc".into());
    let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pi-ceiling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let db = pi_store::connect(&url)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let data = web::Data::new(db);
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/const", web::get().to(constant))
                .route("/pk/{id}", web::get().to(primary_key))
        })
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .bind(bind)?
        .run()
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pi-ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}
