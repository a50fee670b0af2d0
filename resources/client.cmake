# The browser client, compiled into the server library under :/client. The server answers
# only with these embedded files and never reads the disk to serve a request.
qt_add_resources(lanchat_server lanchat_client
    PREFIX /client
    BASE ${CMAKE_CURRENT_LIST_DIR}
    FILES
        ${CMAKE_CURRENT_LIST_DIR}/index.html
        ${CMAKE_CURRENT_LIST_DIR}/app.css
        ${CMAKE_CURRENT_LIST_DIR}/app.js
        ${CMAKE_CURRENT_LIST_DIR}/favicon.svg
)
