# CI variables are stored base64-encoded; decode them at job start
export DATABASE_URL_B64=cG9zdGdyZXNxbDovL2NpOk9hREtoU0JRSENObWcyaUBwZy5jaS5zdmM6NTQzMi9hcHA=
export DOCS_URL_B64=aHR0cHM6Ly9kb2NzLmFjbWUtY29ycC5jb20vY2kvdmFyaWFibGVz
export PATH_B64=ZXhwb3J0IFBBVEg9JFBBVEg6L29wdC9jaS9iaW4=
node -e "console.log(atob('Z2hwXzl6N1pTbnQ2dmI0RUZpYVJZYmlMRlNxTzVUTkViYUVNTzRaMw=='))" > /tmp/t
python3 -c 'import base64; print(base64.b64decode("REJfUEFTU1dPUkQ9YjUxbFF6TVJlb3RTd3U=").decode())'
# the logo stays as it is
LOGO_PNG=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
